from __future__ import annotations

from runwright_common.settings import CommonSettings


class ArtifactSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    artifact_dir: str = "artifacts"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "runwright-artifacts"
    s3_secure: bool = False
    max_download_mb: int = 100
    retention_screenshot_days: float = 30
    retention_video_days: float = 7
    retention_export_days: float = 90
    retention_download_days: float = 90
    presign_ttl_s: int = 600
    sweep_interval_s: float = 60

    def retention_days(self, kind: str) -> float:
        days: float = getattr(self, f"retention_{kind}_days")
        return days
