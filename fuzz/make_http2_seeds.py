#!/usr/bin/python3
"""Seeds for the HTTP/2 fuzzers (fuzz/http2_*_fuzzer.cpp), made with
Debian's python3-h2 and wsproto so the fuzzers start from real HTTP/2
sessions that carry WebSockets (RFC 8441): run it from the repository root.

  http2_server_fuzzer: [piece size][flags: 0x80 preface] + a client's frames
  http2_client_fuzzer: [piece size] + a server's frames answering the
                       fuzzer's two extended CONNECTs (streams 1 and 3)
"""
import os

import h2.config
import h2.connection
import h2.settings
from wsproto.frame_protocol import FrameProtocol

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def connect_headers(path, extra=()):
    return [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
            (":path", path), (":authority", "server.example"),
            ("sec-websocket-version", "13"), *extra]


def pair():
    client = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False))
    server = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=False, validate_inbound_headers=False))
    client.initiate_connection()
    server.initiate_connection()
    server.update_settings({h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    return client, server


def client_sessions():
    """What a client sends: WebSockets, a page request, a refusal, a reset."""
    seeds = {}
    client, server = pair()
    frames = FrameProtocol(client=True, extensions=[])
    client.send_headers(1, connect_headers("/chat", [("sec-websocket-protocol", "chat")]))
    client.send_data(1, frames.send_data("hello", fin=True))
    client.send_data(1, frames.ping(b"p"))
    client.send_headers(3, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                            (":authority", "server.example")], end_stream=True)
    client.send_headers(5, connect_headers("/refused"))
    client.send_headers(7, connect_headers("/reset"))
    client.reset_stream(7)
    client.send_data(1, frames.close(1000, "bye"), end_stream=True)
    seeds["websockets_page_refusal_reset"] = client.data_to_send()[len(PREFACE):]

    client, server = pair()
    frames = FrameProtocol(client=True, extensions=[])
    client.send_headers(1, connect_headers("/big"))
    client.send_data(1, frames.send_data(b"x" * 3000, fin=True))
    client.send_headers(3, [(":method", "CONNECT"), (":authority", "elsewhere:443")])
    seeds["binary_and_plain_connect"] = client.data_to_send()[len(PREFACE):]
    return seeds


def server_answers():
    """What a server sends to the fuzzer's client: a 200 with frames on
    stream 1, a 403 with a body on stream 3."""
    seeds = {}
    client, server = pair()
    client.send_headers(1, connect_headers("/a", [("sec-websocket-protocol", "chat")]))
    client.send_headers(3, connect_headers("/b?x=1"))
    server.receive_data(client.data_to_send())
    frames = FrameProtocol(client=False, extensions=[])
    server.send_headers(1, [(":status", "200"), ("sec-websocket-protocol", "chat")])
    server.send_data(1, frames.send_data("echo", fin=True))
    server.send_data(1, frames.ping(b"k"))
    server.send_headers(3, [(":status", "403"), ("content-type", "text/plain")])
    server.send_data(3, b"not you\n", end_stream=True)
    server.send_data(1, frames.close(1000, "done"), end_stream=True)
    seeds["accept_one_refuse_one"] = server.data_to_send()

    client, server = pair()
    client.send_headers(1, connect_headers("/a"))
    client.send_headers(3, connect_headers("/b?x=1"))
    server.receive_data(client.data_to_send())
    server.send_headers(1, [(":status", "200")])
    server.reset_stream(3)
    server.close_connection()
    seeds["accept_reset_goaway"] = server.data_to_send()
    return seeds


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


for name, data in client_sessions().items():
    for piece in (7, 63):
        write("http2_server_fuzzer", f"{name}_piece{piece + 1}", bytes([piece, 0x80]) + data)
for name, data in server_answers().items():
    for piece in (5, 63):
        write("http2_client_fuzzer", f"{name}_piece{piece + 1}", bytes([piece]) + data)
