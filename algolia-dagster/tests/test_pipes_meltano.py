"""Secrets in the environment never reach a relayed log line."""

from __future__ import annotations

import sys

import dagster as dg

from algolia_dagster.pipes_meltano import MASK, project_secrets, redact, secrets_in


def test_secret_values_and_url_passwords_are_masked():
    env = {
        "TAP_ALGOLIA_API_KEY": "k3y-0f-the-app",
        "ALGOLIA_EU_STORE_API_KEY": "eu-secret-value",
        "TARGET_POSTGRES_PASSWORD": "pg-pass-1",
        "MELTANO_DATABASE_URI": "postgresql+psycopg://meltano:db-pass-2@db:5432/meltano",
        "MELTANO_STATE_BACKEND_URI": "s3://AKIAEXAMPLE:aws-secret-3@bucket/state",
        "TAP_ALGOLIA_APP_ID": "APPID123",  # not a secret: stays readable
        "SHORT_TOKEN": "ab",  # short: masked where it stands as a word, not inside one
    }
    line = (
        "config k3y-0f-the-app eu-secret-value pg-pass-1 "
        "postgresql+psycopg://meltano:db-pass-2@db:5432/meltano aws-secret-3 APPID123 ab "
        "about tab key='ab'"
    )
    out = redact(line, secrets_in(env))
    for secret in ("k3y-0f-the-app", "eu-secret-value", "pg-pass-1", "db-pass-2", "aws-secret-3"):
        assert secret not in out
    assert "APPID123" in out
    assert out.endswith(f" {MASK} about tab key='{MASK}'")
    assert out.count(MASK) == 7


def test_secrets_kept_in_the_projects_dotenv_are_masked(tmp_path):
    """Meltano reads the project's .env itself: its secrets are not in our environment."""
    (tmp_path / ".env").write_text(
        "# Meltano project secrets\n"
        "TAP_ALGOLIA_API_KEY=dotenv-key-1\n"
        "export TARGET_ALGOLIA_API_KEY='dotenv-key-2'\n"
        'TARGET_POSTGRES_PASSWORD="pg dotenv 3"\n'
        "SHORT_API_KEY=k9  # a comment\n"
        "TAP_ALGOLIA_APP_ID=APPID123\n"
        "not a line\n"
    )
    secrets = project_secrets({"OTHER_TOKEN": "env-token-4"}, tmp_path)
    line = "dotenv-key-1 dotenv-key-2 pg dotenv 3 env-token-4 APPID123 k9 k9x"
    out = redact(line, secrets)
    for secret in ("dotenv-key-1", "dotenv-key-2", "pg dotenv 3", "env-token-4"):
        assert secret not in out
    assert out == f"{MASK} {MASK} {MASK} {MASK} APPID123 {MASK} k9x"


def test_a_project_without_dotenv_masks_the_environment_only(tmp_path):
    assert project_secrets({"A_SECRET": "s3cr3t"}, tmp_path) == ["s3cr3t"]


def test_a_key_in_the_projects_dotenv_never_reaches_dagsters_event_log(tmp_path, monkeypatch):
    """Through Dagster: a stand-in for Meltano reads .env (as Meltano does) and echoes the keys."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(
        "TAP_ALGOLIA_API_KEY=rk-dotenv-7Qx-secret\nTARGET_ALGOLIA_API_KEY=q7\n"
    )
    fake_meltano = tmp_path / "meltano.py"
    fake_meltano.write_text(
        "import sys\n"
        "values = dict(line.split('=', 1) for line in open('.env').read().split())\n"
        "print('key', values['TAP_ALGOLIA_API_KEY'], 'short', values['TARGET_ALGOLIA_API_KEY'])\n"
        "print('in a header value:', repr(values['TAP_ALGOLIA_API_KEY']), file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    monkeypatch.delenv("TAP_ALGOLIA_API_KEY", raising=False)

    @dg.op(required_resource_keys={"pipes"})
    def run_meltano(context) -> None:  # dagster resolves annotations
        context.resources.pipes.run(
            context=context,
            command=[
                sys.executable,
                "-m",
                "algolia_dagster.pipes_meltano",
                sys.executable,
                str(fake_meltano),
            ],
            cwd=str(project),
        )

    @dg.job(resource_defs={"pipes": dg.PipesSubprocessClient()})
    def job() -> None:
        run_meltano()

    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        records = [entry.to_json() for entry in instance.all_logs(result.run_id)]
    assert not result.success
    text = "\n".join(records)
    assert f"key {MASK} short {MASK}" in text
    assert "in a header value:" in text
    assert "rk-dotenv-7Qx-secret" not in text
    assert " q7" not in text
