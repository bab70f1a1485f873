"""``target-algolia --test`` through the CLI against the emulator: one read, one line each."""

from __future__ import annotations

import os
import subprocess
import typing as t

from algolia_testkit.target_runs import (
    CLI,
    base_config,
    event,
    put_user,
    schema,
    to_lines,
    write_config,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from algolia_emulator import EmulatorServer


def run_test(
    config: dict[str, t.Any], tmp_path: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "--config", str(write_config(config, tmp_path)), "--test"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


def calls(emu: EmulatorServer) -> dict[str, int]:
    return dict(emu.admin.stats()["byRoute"])


def test_good_credentials_exit_0_with_one_ok_line_and_write_nothing(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    put_user(emu, "alice", [("vip", "crm")])
    put_user(emu, "bob", [])
    config = base_config(emu, erasure_streams=["erasure_requests"])
    # Input on stdin is not read: --test exits before any record is processed.
    out = run_test(config, tmp_path, to_lines([schema(), event("bob", "shoes")]))
    assert out.returncode == 0, out.stderr
    (ok,) = [line for line in out.stderr.splitlines() if "OK: " in line]
    assert f"accepted application {emu.app_id}" in ok
    assert "2 profiles read, 2 with a segments field; nothing was written" in ok
    assert problem_lines(out.stderr) == []
    assert calls(emu) == {"GET /2/users": 1}
    assert emu.admin.get_user("bob")["segments"] == []
    assert emu.api_key not in out.stderr + out.stdout


def test_a_wrong_key_is_one_401_line_naming_what_to_check(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    out = run_test(base_config(emu, api_key="not-the-key"), tmp_path)
    assert out.returncode == 1
    (line,) = problem_lines(out.stderr)
    assert "401 from Algolia" in line
    assert (
        "check the application ID, the API key's ACLs (search, browse and recommendation)" in line
    )
    assert "the region (us or eu)" in line
    assert "not-the-key" not in out.stderr
    assert "Traceback" not in out.stderr


def test_a_key_missing_an_acl_is_one_403_line(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    emu = emulator_factory(
        users=5,
        api_keys={
            "full": ["search", "browse", "recommendation"],
            "no-recommendation": ["search", "browse"],
            "search-only": ["search"],
        },
    )
    for key in ("no-recommendation", "search-only"):
        out = run_test(base_config(emu, api_key=key), tmp_path)
        assert out.returncode == 1, key
        (line,) = problem_lines(out.stderr)
        assert "403 from Algolia" in line
        assert "the API key lacks an ACL; give it search, browse and recommendation" in line
    assert emu.admin.stats()["byStatus"] == {"403": 2}


def test_an_unreachable_host_is_one_line_about_region_and_api_url(tmp_path: Path) -> None:
    config = {
        "app_id": "APP",
        "api_key": "k",
        "api_url": "http://127.0.0.1:9",
        "request_timeout": 2,
    }
    out = run_test(config, tmp_path)
    assert out.returncode == 1
    (line,) = problem_lines(out.stderr)
    assert "Could not reach Algolia at http://127.0.0.1:9: check the region/api_url" in line


def test_a_wrong_path_on_the_host_is_a_404_line(emu: EmulatorServer, tmp_path: Path) -> None:
    out = run_test(base_config(emu, api_url=emu.url + "/not-personalization"), tmp_path)
    assert out.returncode == 1
    (line,) = problem_lines(out.stderr)
    assert "404 from Algolia on GET /2/users" in line
    assert "check the region and api_url" in line


def test_profiles_without_the_segments_beta_are_a_problem(
    emulator_factory: t.Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    emu = emulator_factory(users=30)
    emu.admin.set_settings(segments_beta=False)
    out = run_test(base_config(emu), tmp_path)
    assert out.returncode == 1
    (line,) = problem_lines(out.stderr)
    assert "None of the 30 profiles read carries a segments field" in line
    assert "segments beta is probably not enabled" in line


def test_an_application_with_no_profiles_passes(emu: EmulatorServer, tmp_path: Path) -> None:
    out = run_test(base_config(emu), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "0 profiles read, 0 with a segments field" in out.stderr


def test_invalid_settings_fail_in_one_line_before_any_call(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    out = run_test(base_config(emu, api_url="http://example.com"), tmp_path)
    assert out.returncode == 1
    assert "uses plain http: https is required" in out.stderr
    assert "Traceback" not in out.stderr
    assert calls(emu) == {}


def test_config_env_reads_number_settings_as_meltano_exports_them(emu: EmulatorServer) -> None:
    """`--config ENV` (Meltano's `test` command): every setting arrives as text."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TARGET_ALGOLIA_")},
        "TARGET_ALGOLIA_APP_ID": emu.app_id,
        "TARGET_ALGOLIA_API_KEY": emu.api_key,
        "TARGET_ALGOLIA_API_URL": emu.url,
        "TARGET_ALGOLIA_MAX_WAIT_SECONDS": "2.5",
        "TARGET_ALGOLIA_MIRROR_MAX_REMOVAL_FRACTION": "0.25",
        "TARGET_ALGOLIA_ERASURE_STREAMS": '["erasure_requests"]',
    }

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "--config", "ENV", "--test"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    good = run()
    assert good.returncode == 0, good.stderr
    assert "OK: " in good.stderr
    bad = run(TARGET_ALGOLIA_MAX_WAIT_SECONDS="soon")
    assert bad.returncode == 1
    (line,) = problem_lines(bad.stderr)
    assert "max_wait_seconds must be a number such as 0.5, not 'soon'" in line
