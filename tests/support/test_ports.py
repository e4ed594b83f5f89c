"""The test servers get their ports without a race another test run could lose them in."""

from __future__ import annotations

import errno
import smtplib
import socket
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.receivers import start_on_a_free_port
from tests.support.servers import free_port, listening_socket


class _Accept:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _controller(port: int) -> Controller:
    return Controller(_Accept(), hostname="127.0.0.1", port=port)


def test_a_listening_socket_holds_its_port_until_the_server_has_it() -> None:
    sock = listening_socket()
    try:
        port = sock.getsockname()[1]
        assert sock.get_inheritable()
        with socket.socket() as other, pytest.raises(OSError) as exc:
            other.bind(("127.0.0.1", port))
        assert exc.value.errno == errno.EADDRINUSE
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it already accepts connections: no window before the server binds
    finally:
        sock.close()


def test_an_smtp_server_whose_port_was_taken_starts_on_another() -> None:
    taken = listening_socket()  # someone else got there between picking and binding
    try:
        ports = iter([taken.getsockname()[1], free_port()])
        controller, port = start_on_a_free_port(_controller, ports)
        try:
            assert port != taken.getsockname()[1]
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                assert client.noop()[0] == 250
        finally:
            controller.stop()
    finally:
        taken.close()


def test_no_free_port_after_the_tries_is_a_clear_error() -> None:
    taken = listening_socket()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="no free port for the SMTP server after 3"):
            start_on_a_free_port(_controller, iter([port] * 3), tries=3)
    finally:
        taken.close()
