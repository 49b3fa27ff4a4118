-- Run secrets are sealed (AES-256-GCM, the job id as associated data) before they reach
-- PostgreSQL: the row keeps the key id, the nonce and the ciphertext. `secrets` (plain jsonb) is
-- kept only so rows written before this migration can be sealed by the queue at its next start
-- (it holds the key; SQL does not); it is NULL for every row sealed.
ALTER TABLE queue.job_secrets
    ADD COLUMN key_id     text,
    ADD COLUMN nonce      bytea,
    ADD COLUMN ciphertext bytea,
    ALTER COLUMN secrets DROP NOT NULL,
    ADD CONSTRAINT job_secrets_sealed_or_legacy CHECK (
        (secrets IS NULL AND key_id IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL)
        OR (secrets IS NOT NULL AND key_id IS NULL AND nonce IS NULL AND ciphertext IS NULL)
    );
