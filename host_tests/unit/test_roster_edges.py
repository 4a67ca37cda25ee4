import asyncio

from fakeclient import FakeClient

from xmlstream.element import Element
from xmpp import stanza as st


def _item(jid, subscription):
    return Element("item", st.NS_ROSTER, {"jid": jid, "subscription": subscription})


def _push(*items, type_="set"):
    # From our own server: no 'from' (RFC 6121 §2.1.6).
    return Element(
        "iq",
        st.NS_CLIENT,
        {"type": type_, "id": "push1"},
        [Element("query", st.NS_ROSTER, None, list(items))],
    )


def _presence(type_, frm):
    attrs = {"from": frm}
    if type_:
        attrs["type"] = type_
    return Element("presence", st.NS_CLIENT, attrs)


def test_a_contact_we_only_subscribed_to_is_not_authorized():
    c = FakeClient()
    c.router.dispatch(_push(_item("peer@example.org", "to"), _item("none@example.org", "none")))
    assert not c.roster.is_authorized("peer@example.org/x")
    assert not c.roster.is_authorized("none@example.org/x")


def test_a_contact_that_sees_our_presence_is_authorized():
    c = FakeClient()
    c.router.dispatch(_push(_item("from@example.org", "from"), _item("both@example.org", "both")))
    assert c.roster.is_authorized("from@example.org/x")
    assert c.roster.is_authorized("both@example.org/x")


def test_a_revoked_or_removed_subscription_is_no_longer_authorized():
    c = FakeClient()
    c.router.dispatch(_push(_item("a@example.org", "both"), _item("b@example.org", "from")))
    c.router.dispatch(_push(_item("a@example.org", "to"), _item("b@example.org", "remove")))
    assert not c.roster.is_authorized("a@example.org/x")
    assert not c.roster.is_authorized("b@example.org/x")


def test_the_contact_set_is_bounded_and_a_known_contact_is_never_counted_as_dropped():
    c = FakeClient()
    c.roster.max_contacts = 2
    c.router.dispatch(_push(_item("a@example.org", "both"), _item("b@example.org", "both")))
    c.router.dispatch(_push(_item("a@example.org", "from")))  # an update, not a new contact
    assert c.roster.dropped == 0
    c.router.dispatch(_push(_item("c@example.org", "both")))
    assert c.roster.dropped == 1 and not c.roster.is_authorized("c@example.org/x")
    assert c.roster.contacts == {"a@example.org", "b@example.org"}


def test_a_roster_push_that_is_not_a_set_changes_nothing():
    c = FakeClient()
    c.router.dispatch(_push(_item("a@example.org", "both"), type_="get"))
    out = c.take()
    assert len(out) == 1 and b"error" in out[0]
    assert not c.roster.is_authorized("a@example.org/x")


def test_presence_other_than_subscribe_is_not_answered():
    c = FakeClient()
    for type_ in (None, "unavailable", "subscribed", "unsubscribe", "probe"):
        c.router.dispatch(_presence(type_, "owner@example.org/phone"))
        c.router.dispatch(_presence(type_, "eve@evil.example/x"))
    assert c.take() == []


def test_the_allow_list_is_compared_in_normal_form():
    c = FakeClient(allow=("Owner@Example.ORG.",))
    assert c.roster.is_authorized("owner@example.org/laptop")


async def test_a_roster_error_that_echoes_items_authorizes_none_of_them():
    c = FakeClient()
    task = asyncio.create_task(c.roster.load())
    await asyncio.sleep_ms(0)
    c.take()
    echoed = Element("query", st.NS_ROSTER, None, [_item("friend@example.org", "both")])
    err = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "error", "id": "c1"},
        [echoed, st.error_element("internal-server-error")],
    )
    c.router.dispatch(err)
    await task
    assert not c.roster.is_authorized("friend@example.org/phone")


def test_a_subscription_request_from_our_own_account_is_not_answered():
    # Fuzz (thing cases): the board sent `unsubscribed` to its own bare JID. Its own account
    # is no contact to refuse: an echo of itself, or another client of the same account.
    c = FakeClient()
    for frm in ("dev@example.org", "dev@example.org/other", "DEV@example.org/sensor"):
        c.router.dispatch(_presence("subscribe", frm))
    assert c.sent == [], c.sent


def test_a_removed_subscription_revokes_nothing_of_a_jid_the_allow_list_still_admits():
    # FakeClient allows owner@example.org: what it was granted stays, as does its access.
    c = FakeClient()
    revoked = []
    c.roster.on_revoke.append(revoked.append)
    c.router.dispatch(_push(_item("owner@example.org", "both"), _item("b@example.org", "from")))
    c.router.dispatch(_push(_item("owner@example.org", "remove"), _item("b@example.org", "none")))
    assert revoked == ["b@example.org"]
    assert c.roster.is_authorized("owner@example.org/phone")
