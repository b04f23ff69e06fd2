"""`pulse forget`'s arguments: what is sent, in which order, each once, and nothing when one is wrong."""
from __future__ import annotations

import argparse

from pulse.cmd_forget import collect


def args(email=(), anonymous_ids=(), file=None) -> argparse.Namespace:
    return argparse.Namespace(email=list(email), anonymous_ids=list(anonymous_ids), file=file)


def test_every_identifier_once_in_order_from_flags_and_file(tmp_path):
    listed = tmp_path / "erasures.txt"
    listed.write_text("# requests of November\n"
                      "carol@globex.example\n"
                      "\n"
                      "c-7f3a\n"
                      "anonymous_id:odd@cookie\n"   # a cookie with an @, said so
                      "email:dan@globex.example\n"
                      " ANA@acme.example \n")       # the same person as --email: sent once
    items, problems = collect(args(["ana@acme.example"], ["c-1"], listed))
    assert problems == []
    assert [f"{i.kind} {i.value} | {i.where}" for i in items] == """\
email ana@acme.example | --email #1
anonymous_id c-1 | --anonymous-id #1
email carol@globex.example | erasures.txt line 2
anonymous_id c-7f3a | erasures.txt line 4
anonymous_id odd@cookie | erasures.txt line 5
email dan@globex.example | erasures.txt line 6""".splitlines()


def test_one_bad_identifier_names_every_problem(tmp_path):
    listed = tmp_path / "bad.txt"
    listed.write_text("ok@acme.example\nnot an email@acme.example\n")
    items, problems = collect(args(["", "b@acme.example"], ["x" * 200], listed))
    assert problems == ["--email #1: empty email",
                        "--anonymous-id #1: anonymous id of 200 characters: no event carries more than 128 "
                        "(nothing stored can match it)",
                        "bad.txt line 2: not an email address: 'not an email@acme.example' "
                        "(expected name@domain.tld, no spaces)"]


def test_nobody_named_or_an_unreadable_file(tmp_path):
    assert collect(args())[1] == ["name someone: --email EMAIL, --anonymous-id ID or --file FILE"]
    binary = tmp_path / "list.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "cannot read it" in collect(args(file=binary))[1][0]
    assert "cannot read it" in collect(args(file=tmp_path / "missing.txt"))[1][0]
