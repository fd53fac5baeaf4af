"""The test-data kit: every NIK it makes passes the domain's own check and matches the birth
date and sex it comes with; numbered people are distinct within a region, across a crowd's
workers and across runs."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from api.booking.nik import nik_problems
from testkit import people as kit


def valid(who: kit.Person) -> bool:
    return nik_problems(who.nik, who.birth, who.sex) is None


def test_numbered_people_are_valid_adults_and_distinct() -> None:
    numbers = [*range(0, 50_000), *range(kit.PER_REGION - 1000, kit.PER_REGION)]
    people = [kit.person(n) for n in numbers]
    assert all(valid(p) for p in people)
    assert len({p.nik for p in people}) == len(people)
    assert {p.sex for p in people} == {"L", "P"}
    assert all(p.birth < date(2000, 1, 1) for p in people)  # adults, whatever today is


def test_region_codes_are_valid_and_distinct() -> None:
    codes = [kit.region_code(k) for k in (*range(0, 3000), *range(kit.REGIONS - 3000, kit.REGIONS))]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert nik_problems(kit.nik(region=code, serial=1), kit.DEFAULT_BIRTH, "L") is None
    with pytest.raises(ValueError):
        kit.region_code(kit.REGIONS)


def test_crowds_never_repeat_a_nik_across_runs_and_workers() -> None:
    """Two runs (as two random run ids give), each with four workers, each numbering its
    people from 0: the bug was that every run and every Locust process started over."""
    niks = [
        kit.crowd_person(run, worker, n).nik
        for run, worker, n in itertools.product((7, 382_238 + 9), range(4), range(2000))
    ]
    assert len(set(niks)) == len(niks)
    last = kit.crowd_person(5, kit.WORKERS - 1, kit.PER_WORKER - 1)
    assert valid(last)
    with pytest.raises(ValueError):
        kit.crowd_person(5, kit.WORKERS, 0)
    with pytest.raises(ValueError):
        kit.crowd_person(5, 0, kit.PER_WORKER)


def test_nik_and_bodies() -> None:
    assert kit.nik(date(1990, 5, 17), "P", 12) == "3172015705900012"
    with pytest.raises(ValueError):
        kit.nik(serial=0)
    with pytest.raises(ValueError):
        kit.nik(serial=10_000)
    woman = kit.person(kit.SERIALS)  # the first woman
    body = kit.booking_body("2030-01-02", "s2", woman, office="bandung", lane="percepatan")
    assert body["office_id"] == "bandung" and body["lane"] == "percepatan"
    assert body["applicant"]["nik"] == woman.nik and body["applicant"]["sex"] == "P"
    assert body["applicant"]["birth_date"] == woman.birth.isoformat()
    fresh = [kit.applicant()["nik"] for _ in range(3)]
    assert len(set(fresh)) == 3
