-- A person may link their Slack user (PATCH /api/v1/me): Slack's Approve and Reject buttons then
-- decide as them. One Runwright user per Slack user.
ALTER TABLE gateway.users ADD COLUMN slack_user_id text;
CREATE UNIQUE INDEX users_slack_user_idx ON gateway.users (slack_user_id)
    WHERE slack_user_id IS NOT NULL;
