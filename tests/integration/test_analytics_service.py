"""Analytics over a shop built through the real engine, on SQLite and PostgreSQL.

The expected figures are worked out by hand from ``analytics_shop``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from patron.analytics import readers, service
from patron.analytics.lifecycle import STAGES
from patron.analytics.periods import ActivityRules, Period
from patron.analytics.rfm import SEGMENTS
from patron.core.clock import FrozenClock
from patron.core.db import Database
from patron.events.ingest import ingest
from patron.ledger.models import LedgerEntry
from tests.integration.analytics_shop import build_shop, buy, noon

JAN_TO_MAY = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
MAR_TO_MAY = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
RULES = ActivityRules()


@pytest.fixture
def shop(database: Database, clock: FrozenClock) -> dict[str, int]:
    return build_shop(database, clock)


def test_purchases_are_read_net_of_refunds_with_discounts(
    database: Database, shop: dict[str, int]
) -> None:
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        h = data.purchases
    by_member: dict[int, list[tuple[int, bool]]] = {}
    for m, net, disc in zip(h.member.tolist(), h.net.tolist(), h.discounted.tolist(), strict=True):
        by_member.setdefault(m, []).append((net, disc))
    assert by_member == {
        shop["alice"]: [(1000, True), (2000, False), (3000, True)],
        shop["bob"]: [(1500, False), (4000, False)],  # 40.00 refunded in full: not counted
        shop["carol"]: [(500, False)],
        shop["dave"]: [(1000, False), (1000, True)],
    }
    assert h.at[h.member == shop["alice"]][0] == int(noon("2026-01-10").timestamp())


def test_period_figures(database: Database, shop: dict[str, int]) -> None:
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        whole = service.period_summary(data, JAN_TO_MAY, RULES)
        spring = service.period_summary(data, MAR_TO_MAY, RULES)
        assert data.currency == "USD"
    assert (whole.customers_at_start, whole.customers_at_end, whole.new_customers) == (0, 4, 4)
    assert (whole.purchases, whole.revenue_minor, whole.buyers, whole.repeat_buyers) == (
        8,
        14000,
        4,
        3,
    )
    assert whole.average_order_value("USD") == Decimal("17.50")
    assert whole.purchase_frequency == 2.0 and whole.repeat_purchase_rate == 0.75
    # alice 31 and 59 days, bob 45 (the refunded purchase does not count), dave 61
    assert whole.mean_days_between == pytest.approx(49.0)
    assert whole.median_days_between == pytest.approx(52.0)
    assert (spring.customers_at_start, spring.customers_at_end) == (2, 4)
    assert (spring.new_customers, spring.new_at_end, spring.retained) == (2, 2, 2)
    assert spring.retention_rate == 1.0 and spring.churn_rate == 0.0


def test_splits_by_status_attribute_and_membership(
    database: Database, shop: dict[str, int]
) -> None:
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        status = service.period_summary_by(data, JAN_TO_MAY, RULES, "status")
        city = dict(service.period_summary_by(data, JAN_TO_MAY, RULES, "attribute:city"))
        vip = dict(service.period_summary_by(data, JAN_TO_MAY, RULES, "attribute:vip"))
        joined = dict(service.period_summary_by(data, JAN_TO_MAY, RULES, "membership"))
    assert [(label, f.purchases) for label, f in status] == [("active", 8)]
    assert {k: v.revenue_minor for k, v in city.items()} == {
        "London": 6000,
        "Leeds": 5500,
        "(none)": 2500,
    }
    assert {k: v.buyers for k, v in vip.items()} == {"true": 1, "false": 1, "(none)": 2}
    assert {k: (v.purchases, v.revenue_minor) for k, v in joined.items()} == {
        "member": (7, 13000),
        "before joining": (1, 1000),  # dave's purchase from before he joined
    }


def test_split_by_rfm_segment_at_the_start_of_the_period(
    database: Database, shop: dict[str, int]
) -> None:
    # On 03-01 only alice (02-10, 2 purchases, 30.00) and bob (01-20, 1, 15.00) had
    # bought: with two customers the better one scores 3 on R, F and M (potential
    # loyalist), the other 1, 1, 1 (lost). carol and dave first bought in the period.
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        groups = dict(service.period_summary_by(data, MAR_TO_MAY, RULES, "segment"))
    assert {k: (v.buyers, v.revenue_minor) for k, v in groups.items()} == {
        "potential_loyalists": (1, 3000),  # alice's 30.00 of 04-10
        "lost": (1, 4000),  # bob's 50.00 less the 10.00 refunded
        service.NEW_IN_PERIOD: (2, 2500),  # carol 5.00, dave 2 x 10.00
    }


def test_split_by_tier(database: Database, shop: dict[str, int]) -> None:
    from patron.tiers.models import MemberTier

    at = datetime(2026, 5, 1, tzinfo=UTC)
    with database.unit_of_work() as session:
        for name, tier in (("alice", "gold"), ("bob", None)):
            session.add(MemberTier(member_id=shop[name], tier=tier, since=at, updated_at=at))
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        tiers = dict(service.period_summary_by(data, JAN_TO_MAY, RULES, "tier"))
    assert {k: v.revenue_minor for k, v in tiers.items()} == {"gold": 6000, "(none)": 8000}


def test_join_time_is_the_earlier_of_enrolment_and_signup(
    database: Database, shop: dict[str, int]
) -> None:
    with readers.snapshot(database) as snap:
        ids, joined = readers.member_join_times(snap)
    when = dict(zip(ids.tolist(), joined.tolist(), strict=True))
    assert when[shop["alice"]] == int(noon("2026-01-02").timestamp())  # signup before record
    assert when[shop["dave"]] == int(datetime(2026, 5, 1, 12, 5, tzinfo=UTC).timestamp())
    assert when[shop["carol"]] == int(noon("2026-02-01").timestamp())


def test_cohorts_rfm_lifecycle_profiles_loyalty(database: Database, shop: dict[str, int]) -> None:
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        matrix = service.cohort_table(data, JAN_TO_MAY)
        scores = service.member_scores(data, RULES)
    assert matrix.months == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert matrix.counts[0] == [2, 1, 1, 1, 0]  # alice and bob
    assert matrix.counts[2] == [1, 0, 1, None, None]  # dave
    assert matrix.counts[4] == [1, None, None, None, None]  # carol
    row = {m: i for i, m in enumerate(scores.member.tolist())}
    alice, bob, carol = row[shop["alice"]], row[shop["bob"]], row[shop["carol"]]
    assert scores.purchases[alice] == 3 and scores.spent_minor[bob] == 5500
    assert scores.recency_days[carol] == pytest.approx(11.5)  # 05-20 noon to 06-01
    assert SEGMENTS[scores.segment[carol]] == "new"
    assert STAGES[scores.stage[carol]] == "new" and STAGES[scores.stage[alice]] == "active"
    assert scores.place_share[alice] == pytest.approx(2 / 3)  # her app visit
    assert scores.place_share[bob] == 1.0  # online twice (the refunded purchase does not count)
    assert scores.discount_share[alice] == pytest.approx(2 / 3)
    assert scores.price_driven[alice] and not scores.price_driven[bob]
    # alice: 2 repeats 8.89 + referral 5 + 2 reviews 10 + a redemption 6.67 = 30.56
    assert scores.loyalty[alice] == 31
    assert scores.loyalty[bob] == 14  # a repeat 4.44 + a survey answer 10
    assert scores.loyalty[carol] == 0


def test_economics_agree_with_the_ledger(
    database: Database, shop: dict[str, int], clock: FrozenClock
) -> None:
    with database.unit_of_work() as session:
        earned = session.scalar(
            select(func.sum(LedgerEntry.points)).where(LedgerEntry.kind == "earn")
        )
        total = session.scalar(select(func.sum(LedgerEntry.points)))
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        e = service.program_figures(data, JAN_TO_MAY)
    assert e.flows.earned == earned and e.flows.spent == 20
    assert e.flows.reversed > 0  # bob's refunds took points back
    assert e.outstanding_at_end == total
    assert e.liability_at_end == Decimal(total) / 100
    assert e.reward_cost == Decimal("0.20")
    assert e.redemption_rate == pytest.approx(20 / e.flows.net_earned)
    assert e.breakage_rate == 0.0
    assert [m.month for m in e.months][-1] == "2026-05"
    assert e.incremental.members == 0  # dave joined on 05-01: not 90 days ago yet
    to_august = Period(JAN_TO_MAY.start, datetime(2026, 9, 1, tzinfo=UTC))
    with service.open_shop(database, to_august.end) as data:
        later = service.program_figures(data, to_august)
    assert later.incremental.members == 1  # dave, who bought on 03-15 before joining
    assert later.incremental.before_minor == 1000 and later.incremental.after_minor == 1000
    assert later.incremental.incremental_minor == 0


def test_rewards_used_at_the_till(database: Database, shop: dict[str, int]) -> None:
    from patron.rewards.models import Redemption, Reward

    at = datetime(2026, 5, 2, tzinfo=UTC)
    with database.unit_of_work() as session:
        reward = Reward(
            key="coffee",
            name="Free coffee",
            kind="coupon",
            cost=20,
            definition={},
            program_version=1,
            created_at=at,
            updated_at=at,
        )
        session.add(reward)
        session.flush()
        for code, status, used_at, discount in (
            ("A1", "used", at, 350),  # in the period
            ("A2", "used", datetime(2026, 6, 2, tzinfo=UTC), 400),  # after it
            ("A3", "issued", None, None),
        ):
            session.add(
                Redemption(
                    member_id=shop["alice"],
                    reward_id=reward.id,
                    code=code,
                    status=status,
                    points=20,
                    terms={},
                    issued_at=at,
                    expires_at=at + timedelta(days=30),
                    used_at=used_at,
                    discount=discount,
                )
            )
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        e = service.program_figures(data, JAN_TO_MAY)
    assert (e.rewards_used, e.till_discounts) == (1, Decimal("3.50"))


def test_expired_points_count_as_breakage(
    database: Database, shop: dict[str, int], clock: FrozenClock
) -> None:
    from patron.ledger.jobs import run_jobs
    from patron.program.service import require_program

    clock.set(datetime(2027, 2, 15, tzinfo=UTC))  # the job books expiry on this day
    with database.unit_of_work() as session:
        _, program = require_program(session)
        report = run_jobs(session, clock.now(), program)
    assert report.expired_points > 0
    year = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))
    with service.open_shop(database, year.end) as data:
        e = service.program_figures(data, year)
    assert e.flows.expired == report.expired_points
    assert e.breakage_rate == pytest.approx(report.expired_points / e.flows.net_earned)
    assert e.months[-1].outstanding == e.outstanding_at_end


def test_a_report_reads_one_snapshot_and_never_blocks_a_writer(
    database: Database, shop: dict[str, int]
) -> None:
    with database.unit_of_work() as session:
        total = session.scalar(select(func.sum(LedgerEntry.points)))
    with service.open_shop(database, datetime(2026, 7, 1, tzinfo=UTC)) as data:
        before = len(data.purchases)
        with database.unit_of_work() as session:  # SQLite: would wait for a write lock
            result = ingest(session, [buy("late", "alice", "2026-05-31", "9.00")])
            assert result.accepted == 1
        assert data.ledger.points.sum() == total  # read after the write: not seen
    with service.open_shop(database, datetime(2026, 7, 1, tzinfo=UTC)) as data:
        assert len(data.purchases) == before + 1


@pytest.mark.parametrize("id_chunk", [100_000, 3])
def test_venues_missing_from_the_recent_sample_are_still_found(
    database: Database, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch, id_chunk: int
) -> None:
    monkeypatch.setattr(readers, "ID_CHUNK", id_chunk)  # SQLite: 3 reads in many pieces
    monkeypatch.setattr(readers, "VENUE_SAMPLE", 1)  # only carol's web purchase: "|"
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        assert (data.purchases.channel >= 0).all() and (data.purchases.store >= 0).all()
        assert len(set(data.purchases.channel.tolist())) == 4  # store, online, app, none
        assert len(set(data.purchases.store.tolist())) == 2  # soho, none
        scores = service.member_scores(data, RULES)
    row = {m: i for i, m in enumerate(scores.member.tolist())}
    assert scores.place_share[row[shop["alice"]]] == pytest.approx(2 / 3)
    assert scores.purchases.sum() == 8 and scores.spent_minor.sum() == 14000


@pytest.mark.parametrize("aside_from", [10**9, 0])  # 0: SQLite reads aside in a process
def test_the_parallel_report_reads_what_the_lazy_use_cases_read(
    database: Database, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch, aside_from: int
) -> None:
    monkeypatch.setattr(service, "ASIDE_PROCESS_FROM", aside_from)
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        report = service.full_report(data, JAN_TO_MAY, RULES)
    with service.open_shop(database, JAN_TO_MAY.end) as data:
        assert service.period_summary(data, JAN_TO_MAY, RULES) == report.summary
        assert service.program_figures(data, JAN_TO_MAY) == report.economics
        assert service.loyalty_table(data).mean() == report.loyalty_mean
        assert service.rfm_scores(data).segment_counts() == report.rfm_segments
