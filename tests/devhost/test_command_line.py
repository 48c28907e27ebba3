"""The command line's own decisions: where devhost is reached, which host names its API trusts, its port."""

from __future__ import annotations

import pytest

from devhost.__main__ import PortInUse, _base_url, _listen, _trusted_hosts


def test_the_base_url_brackets_ipv6_and_reaches_a_wildcard_bind_at_loopback() -> None:
    assert _base_url("127.0.0.1", 7071) == "http://127.0.0.1:7071"
    assert _base_url("::1", 7071) == "http://[::1]:7071"
    assert _base_url("0.0.0.0", 7071) == _base_url("::", 7071) == "http://127.0.0.1:7071"


def test_trusted_host_names_compare_in_lower_case_and_a_wildcard_bind_trusts_any() -> None:
    assert {"mybox", "localhost", "127.0.0.1", "::1"} <= (_trusted_hosts("MyBox") or set())
    assert _trusted_hosts("0.0.0.0") is None and _trusted_hosts("::") is None


def test_the_port_is_taken_as_soon_as_it_is_bound() -> None:
    first = _listen("127.0.0.1", 0)
    try:
        # Two sockets with SO_REUSEADDR may both bind one port until one listens: the first already does.
        with pytest.raises(PortInUse, match="the port is in use"):
            _listen("127.0.0.1", first.getsockname()[1]).close()
    finally:
        first.close()
    with pytest.raises(PortInUse, match="check --host"):
        _listen("no-such-host.invalid", 0)

