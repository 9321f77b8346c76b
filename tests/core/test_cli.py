"""The ``samverkan`` command as an administrator and a script use it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_a_user_added_granted_and_given_a_token_on_the_command_line_can_use_the_api(
    samverkan, client
):
    added = samverkan("users", "add", "Kerstin", "--municipality", "robertsfors",
                      "--password-stdin", stdin="ett långt lösenord\n")
    assert added.exit_code == 0, added.output
    granted = samverkan("users", "grant", "kerstin", "signatory", "--municipality",
                        "robertsfors")
    assert granted.exit_code == 0, granted.output
    made = samverkan("token", "create", "--user", "kerstin")
    assert made.exit_code == 0
    token = made.stdout.strip()
    assert made.stdout == token + "\n", "only the token, so scripts can capture it"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["username"] == "kerstin"
    assert me["grants"] == [{"role": "signatory", "scope": "robertsfors"}]
    password = client.post("/api/tokens", json={"username": "kerstin",
                                                "password": "ett långt lösenord"})
    assert password.status_code == 201


def test_a_grant_for_every_municipality(samverkan, client):
    samverkan("users", "add", "vaxel", "--municipality", "bjurholm")
    assert samverkan("users", "grant", "vaxel", "operator", "--all").exit_code == 0
    token = samverkan("token", "create", "--user", "vaxel").stdout.strip()
    grants = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json["grants"]
    assert grants == [{"role": "operator", "scope": "all"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "add", "x", "--municipality", "gotland"), "no municipality with slug"),
        (("users", "grant", "nobody", "operator", "--all"), "no user called"),
        (("users", "grant", "nobody", "operator"), "exactly one of"),
        (("municipalities", "add", "lycksele", "--scb-code", "24", "--name", "Lycksele"),
         "four-digit SCB"),
        (("municipalities", "add", "umea", "--scb-code", "2481", "--name", "Umeå"),
         "already exists"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_a_nonzero_exit(samverkan, args, message):
    result = samverkan(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_an_unknown_role_is_named(samverkan):
    samverkan("users", "add", "vaxel", "--municipality", "bjurholm")
    result = samverkan("users", "grant", "vaxel", "chief", "--municipality", "bjurholm")
    assert result.exit_code != 0 and "unknown role 'chief'" in result.output


def test_an_eighth_municipality_is_data_not_code(samverkan, client):
    added = samverkan("municipalities", "add", "lycksele", "--scb-code", "2481",
                      "--name", "Lycksele", "--county", "Västerbotten", "--population",
                      "12000", "--population-year", "2024", "--service", "switchboard")
    assert added.exit_code == 0, added.output
    listed = samverkan("municipalities", "list").stdout
    assert "lycksele" in listed and "2481" in listed
    participants = client.get("/switchboard/api/participants").json
    assert "lycksele" in {m["slug"] for m in participants}
    assert "lycksele" not in {m["slug"] for m in client.get("/library/api/participants").json}


def test_municipalities_are_listed_in_swedish_order(samverkan):
    names = [line.split()[2] for line in samverkan("municipalities", "list").stdout.splitlines()]
    assert names[-3:] == ["Vindeln", "Vännäs", "Örnsköldsvik"]
    assert names[:1] == ["Bjurholm"]


def test_upgrade_and_demo_data_can_run_again_without_changing_anything(samverkan):
    assert samverkan("db", "upgrade").exit_code == 0
    first = samverkan("demo-data")
    second = samverkan("demo-data")
    assert first.exit_code == second.exit_code == 0
    assert "0 demo users added" in second.output
    assert "operator.bjurholm" in second.stdout and "samverkan-demo" in second.stdout


def test_the_console_script_is_installed():
    bin_dir = os.path.dirname(sys.executable)
    result = subprocess.run([os.path.join(bin_dir, "samverkan"), "--help"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    for command in ("run", "serve", "worker", "beat", "db", "demo-data", "municipalities",
                    "users", "token"):
        assert command in result.stdout
