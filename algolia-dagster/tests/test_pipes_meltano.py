"""Secrets in the environment never reach a relayed log line."""

from __future__ import annotations

from algolia_dagster.pipes_meltano import MASK, redact, secrets_in


def test_secret_values_and_url_passwords_are_masked():
    env = {
        "TAP_ALGOLIA_API_KEY": "k3y-0f-the-app",
        "ALGOLIA_EU_STORE_API_KEY": "eu-secret-value",
        "TARGET_POSTGRES_PASSWORD": "pg-pass-1",
        "MELTANO_DATABASE_URI": "postgresql+psycopg://meltano:db-pass-2@db:5432/meltano",
        "MELTANO_STATE_BACKEND_URI": "s3://AKIAEXAMPLE:aws-secret-3@bucket/state",
        "TAP_ALGOLIA_APP_ID": "APPID123",  # not a secret: stays readable
        "SHORT_TOKEN": "ab",  # too short to mask without mangling ordinary text
    }
    line = (
        "config k3y-0f-the-app eu-secret-value pg-pass-1 "
        "postgresql+psycopg://meltano:db-pass-2@db:5432/meltano aws-secret-3 APPID123 ab"
    )
    out = redact(line, secrets_in(env))
    for secret in ("k3y-0f-the-app", "eu-secret-value", "pg-pass-1", "db-pass-2", "aws-secret-3"):
        assert secret not in out
    assert "APPID123" in out
    assert out.endswith(" ab")
    assert out.count(MASK) == 5
