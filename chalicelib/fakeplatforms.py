"""Fake platform APIs for tests and `make run`: one local HTTP server that checks each request the
way the platform documents it (path, auth header, body fields) and answers like the platform.

Base URLs (point X_API_BASE_URL etc. at them): `{url}/x`, `{url}/graph`, `{url}/youtube/v3`,
`{url}/slack/api`, Google's OAuth token endpoint `{url}/google/token`, and Teams webhooks
`{url}/teams/<name>?sig=<teams_webhook_sig>` (TEAMS_WEBHOOKS). Every request is
recorded in `requests`; `fail_next` injects errors. Platform API hosts cannot be reached from
here, so this is where request shapes are proven.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from chalicelib.platforms.signatures import hex_signature

_MENTIONED = re.compile(
    r"(?P<edge>mentioned_comment\.comment_id|mentioned_media\.media_id)"
    r"\((?P<id>\d+)\)\{(?P<fields>[a-z_]+(?:,[a-z_]+)*)\}"
)
GRAPH_NODE_FIELDS = {
    "Post": {"id", "message", "from", "created_time", "permalink_url"},
    "Comment": {"id", "message", "from", "created_time", "parent"},
    "IGMedia": {"id", "caption", "username", "timestamp", "permalink", "media_type"},
    "IGComment": {"id", "text", "username", "timestamp"},
}
"""The fields of each Graph node type the fake serves (some of each type's, as documented)."""


@dataclass
class Credentials:
    """What the fake expects callers to present."""

    x_consumer_key: str = "local-x-consumer-key"
    x_consumer_secret: str = "local-x-secret"
    x_access_token: str = "local-x-access-token"
    x_access_token_secret: str = "local-x-access-secret"
    meta_page_access_token: str = "local-meta-page-token"
    whatsapp_access_token: str = "local-whatsapp-token"
    whatsapp_business_account_id: str = "102290129340398"
    meta_app_secret: str = "local-meta-secret"
    """The app "Requires App Secret" (Meta's advice): every Graph call carries its proof."""
    youtube_access_token: str = "local-youtube-token"
    youtube_client_id: str = "local-youtube-client.apps.googleusercontent.com"
    youtube_client_secret: str = "local-youtube-client-secret"
    youtube_refresh_token: str = "1//local-youtube-refresh-token"
    slack_bot_token: str = "xoxb-local-slack-token"
    teams_webhook_sig: str = "local-teams-sig"
    """The signature a Teams webhook's URL carries (`sig`): without it the flow refuses."""


@dataclass
class Recorded:
    """One request the fake received, and whether it accepted it."""

    platform: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Failure:
    """An injected answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Rejection(Exception):
    """The request is not what the platform accepts."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


class FakePlatforms:
    """The fake server; start() it, read `url`, stop() it."""

    def __init__(self, credentials: Credentials | None = None, port: int = 0) -> None:
        self.credentials = credentials or Credentials()
        self.requests: list[Recorded] = []
        self.instagram: dict[str, dict[str, Any]] = {}
        """Comments and captions in which the brand is @mentioned, by id (for the Graph reads)."""
        self.youtube_threads: dict[str, list[dict[str, Any]]] = {}
        self.youtube_replies: dict[str, list[dict[str, Any]]] = {}
        """Comment threads by channel id, newest first (for `commentThreads.list`)."""
        self.youtube_videos: dict[str, dict[str, Any]] = {}
        """Videos' snippets (`title`, `channelTitle`…) by id (for `videos.list`)."""
        self.x_mentions: dict[str, list[dict[str, Any]]] = {}
        """Posts (v2 shape) mentioning each account, newest first, with an `author` user object
        and their `media` objects (for `GET /2/users/:id/mentions`, which moves them to
        `includes.users` and `includes.media`)."""
        self.x_posts: dict[str, dict[str, Any]] = {}
        """Other posts (v2 shape, with an `author`) by id, that mentions quote or answer (for
        `includes.tweets` when `expansions` has `referenced_tweets.id`)."""
        self.graph_posts: dict[str, dict[str, Any]] = {}
        """Facebook posts and comments and Instagram media by id, each with its node `type`
        (GRAPH_NODE_FIELDS) and fields (for `GET /{id}?fields=…`)."""
        self.held_threads: dict[str, bool] = {}
        """Messenger and Instagram conversations (by the person's id) another app holds, and
        whether Switchboard may take them over (idle, or Switchboard the Primary Receiver)."""
        self.google_tokens: dict[str, float] = {}
        """The access tokens Google's token endpoint issued, with when each expires (epoch s)."""
        self.whatsapp_media: dict[str, tuple[bytes, str]] = {
            "1037543291543636": (b"OggS (a stand-in for the demo's voice note)", "audio/ogg")
        }
        """The files customers sent on WhatsApp, by media id, with their MIME type (the demo's
        voice note, tests/events/meta_whatsapp_voice.json)."""
        self.hidden: dict[str, bool] = {}
        """What the brand hid (True) or showed again (False), by `platform:native-id`."""
        self.whatsapp_templates: dict[tuple[str, str], str] = {
            ("order_update", "en_US"): "Hi {{1}}, here is the latest on your order {{2}}.",
            ("order_update", "es"): "Hola {{1}}, novedades de tu pedido {{2}}.",
        }
        """The message templates approved in WhatsApp Manager, by (name, language), with their
        body text (its variables numbered)."""
        self.whatsapp_named_templates: dict[tuple[str, str], str] = {
            ("delivery_window", "en_US"): "Your delivery comes between {{start}} and {{end}}.",
        }
        """Approved templates whose variables are named (`parameter_format: NAMED`)."""
        self.slack_messages: dict[str, dict[str, Any]] = {}
        """The app's Slack messages by `ts`: the latest `chat.postMessage` or `chat.update` of
        each."""
        self.slack_views: list[dict[str, Any]] = []
        """The modals the app opened (`views.open`), oldest first."""
        self._failures: list[Failure] = []
        self._ids = itertools.count(1_000_000)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def do_PUT(self) -> None:
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_sample_posts(self) -> None:
        """The brand's posts the sample deliveries (tests/events/) answer, so the replies to
        them `make run`'s demo routes carry them (`mention.replied_post`)."""
        brand = {"id": "2244994945", "username": "AcmeHelp", "name": "Acme"}
        self.x_posts["1991999999999999000"] = {
            "id": "1991999999999999000",
            "text": "New at Acme: chicken wraps, in every store from today 🌯",
            "author_id": brand["id"],
            "author": brand,
        }
        self.graph_posts["448242228374517_122131676912594941"] = {
            "type": "Post",
            "message": "Meet the Acme Blend 3000: smoothies in 30 seconds.",
            "from": {"name": "Acme", "id": "448242228374517"},
        }
        self.graph_posts["17918195224117851"] = {
            "type": "IGMedia",
            "caption": "Autumn colours are in: which one is yours?",
            "username": "acme",
        }

    def start(self) -> FakePlatforms:
        """Serve in a background thread."""
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next accepted request with this error instead."""
        self._failures.append(Failure(status, body, headers or {}))

    def accepted(self, platform: str | None = None, method: str | None = None) -> list[Recorded]:
        """The requests answered with success (to `platform`, with `method`, when given)."""
        return [
            r
            for r in self.requests
            if r.status < 300 and platform in (None, r.platform) and method in (None, r.method)
        ]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        platform, _, rest = parts.path.lstrip("/").partition("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        extra: dict[str, str] = {}
        try:
            body = self._body(headers, raw)
            route = {"x": self._x, "graph": self._graph, "youtube": self._youtube,
                     "slack": self._slack, "google": self._google,
                     "teams": self._teams}.get(platform)  # fmt: skip
            reader = {
                "graph": self._graph_read,
                "youtube": self._youtube_read,
                "x": self._x_read,
                "whatsapp-media": self._whatsapp_download,
                "slack": self._slack_read,
            }.get(platform)
            if route is None and reader is None:
                raise Rejection(404, {"error": f"unknown API {platform}"})
            if handler.command == "GET" and reader is not None:
                status, answer = reader("/" + rest, query, headers)
            elif handler.command == "PUT" and platform == "x":
                status, answer = self._x_hide("/" + rest, headers, body)
            elif handler.command == "POST" and route is not None:
                status, answer = route("/" + rest, query, headers, body)
            else:
                raise Rejection(405, {"error": f"{handler.command} is not served for {platform}"})
            with self._lock:
                if self._failures:
                    failure = self._failures.pop(0)
                    status, answer, extra = failure.status, failure.body, failure.headers
        except Rejection as rejection:
            status, answer = rejection.status, rejection.body
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(
                Recorded(platform, handler.command, parts.path, headers, body, status, query)
            )
        kind = "application/octet-stream" if isinstance(answer, bytes) else "application/json"
        payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _body(headers: dict[str, str], raw: bytes) -> Any:
        kind = headers.get("content-type", "")
        if kind.startswith("application/json"):
            try:
                return json.loads(raw or b"null")
            except ValueError:
                raise Rejection(400, {"error": "body is not JSON"}) from None
        if kind.startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        return raw.decode(errors="replace")

    def _new_id(self) -> str:
        return str(next(self._ids))

    # X API v2 -------------------------------------------------------------------------------
    def _x(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        self._check_oauth1(f"http://{headers['host']}/x{path}", headers)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            raise Rejection(400, {"errors": [{"message": "text is required"}]})
        if path == "/2/tweets":
            if len(body["text"]) > 280:
                raise Rejection(400, {"detail": "Your Tweet text is too long."})
            reply = body.get("reply")
            if reply is not None and not str(reply.get("in_reply_to_tweet_id", "")).isdigit():
                raise Rejection(400, {"detail": "reply.in_reply_to_tweet_id must be a tweet id"})
            if "in_reply_to_tweet_id" in body:
                raise Rejection(400, {"detail": "in_reply_to_tweet_id belongs under reply"})
            return 201, {"data": {"id": self._new_id(), "text": body["text"]}}
        if path.startswith("/2/dm_conversations/with/") and path.endswith("/messages"):
            return 201, {"data": {"dm_conversation_id": "c1", "dm_event_id": self._new_id()}}
        raise Rejection(404, {"detail": f"no such endpoint {path}"})

    def _x_hide(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        """`PUT /2/tweets/:id/hidden` `{"hidden": bool}`: hides a reply (idempotently)."""
        self._check_oauth1(f"http://{headers['host']}/x{path}", headers, "PUT")
        match = re.fullmatch(r"/2/tweets/(\d+)/hidden", path)
        if match is None:
            raise Rejection(404, {"detail": f"no such endpoint PUT {path}"})
        if not isinstance(body, dict) or not isinstance(body.get("hidden"), bool):
            raise Rejection(400, {"errors": [{"message": "hidden (a boolean) is required"}]})
        self.hidden[f"x:{match[1]}"] = body["hidden"]
        return 200, {"data": {"hidden": body["hidden"]}}

    def _x_read(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        """`GET /2/users/:id/mentions`: newest first, after `since_id`, paged by
        `pagination_token`; with `expansions`, the authors (`author_id`), and the posts they
        reference (`referenced_tweets.id`) with theirs (`referenced_tweets.id.author_id`), in
        `includes`. `GET /2/tweets/:id`: one of `x_posts`."""
        self._check_oauth1(f"http://{headers['host']}/x{path}", headers, "GET", query)
        segments = path.strip("/").split("/")
        if len(segments) == 3 and segments[:2] == ["2", "tweets"]:
            return 200, self._x_post(segments[2], query)
        if len(segments) != 4 or segments[:2] != ["2", "users"] or segments[3] != "mentions":
            raise Rejection(404, {"detail": f"no such endpoint {path}"})
        size = int(query.get("max_results", "10"))
        if not 5 <= size <= 100:
            raise Rejection(400, {"detail": "max_results must be between 5 and 100"})
        since = int(query.get("since_id", "0"))
        posts = [p for p in self.x_mentions.get(segments[2], []) if int(p["id"]) > since]
        posts = posts[:800]  # X pages through the 800 most recent only
        start = int(query.get("pagination_token", "0"))
        page = posts[start : start + size]
        answer: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            answer["data"] = [_without_author(post) for post in page]
            answer["meta"].update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
            if includes := self._x_includes(page, query.get("expansions", "").split(",")):
                answer["includes"] = includes
        if start + size < len(posts):
            answer["meta"]["next_token"] = str(start + size)
        return 200, answer

    def _x_post(self, post_id: str, query: dict[str, str]) -> dict[str, Any]:
        """One post by id, its author in `includes.users` with `expansions=author_id`; a post
        X cannot show is a 200 with `errors` only, as X answers it."""
        post = self.x_posts.get(post_id)
        if post is None:
            detail = f"Could not find tweet with id: [{post_id}]."
            problem = "https://api.twitter.com/2/problems/resource-not-found"
            return {"errors": [{"detail": detail, "title": "Not Found Error", "type": problem}]}
        answer: dict[str, Any] = {"data": _without_author(post)}
        if "author_id" in query.get("expansions", "").split(","):
            answer["includes"] = {"users": [post["author"]]}
        return answer

    def _x_includes(self, page: list[dict[str, Any]], expansions: list[str]) -> dict[str, Any]:
        referenced = [
            self.x_posts[str(ref["id"])]
            for post in page
            for ref in post.get("referenced_tweets", [])
            if "referenced_tweets.id" in expansions and str(ref["id"]) in self.x_posts
        ]
        authors = [post["author"] for post in page if "author_id" in expansions]
        if "referenced_tweets.id.author_id" in expansions:
            authors += [post["author"] for post in referenced]
        media = [m for post in page for m in post.get("media", [])]
        includes: dict[str, Any] = {}
        if authors:
            includes["users"] = list({user["id"]: user for user in authors}.values())
        if media and "attachments.media_keys" in expansions:
            includes["media"] = media
        if referenced:
            includes["tweets"] = [_without_author(post) for post in referenced]
        return includes

    def _check_oauth1(
        self,
        uri: str,
        headers: dict[str, str],
        method: str = "POST",
        query: dict[str, str] | None = None,
    ) -> None:
        header = headers.get("authorization", "")
        if not header.startswith("OAuth "):
            raise Rejection(401, {"title": "Unauthorized", "detail": "OAuth 1.0a user context"})
        params = {k: unquote(v) for k, v in oauth_utils.parse_authorization_header(header)}
        creds = self.credentials
        if (
            params.get("oauth_consumer_key") != creds.x_consumer_key
            or params.get("oauth_token") != creds.x_access_token
            or params.get("oauth_signature_method") != "HMAC-SHA1"
        ):
            raise Rejection(401, {"title": "Unauthorized", "detail": "unknown consumer or token"})
        request = SimpleNamespace(
            uri=uri,
            http_method=method,
            params=oauth_signature.collect_parameters(
                uri_query=urlencode(query or {}), headers={"Authorization": header}
            ),
            signature=params["oauth_signature"],
        )
        valid = oauth_signature.verify_hmac_sha1(
            request, creds.x_consumer_secret, creds.x_access_token_secret
        )
        if not valid:
            raise Rejection(401, {"title": "Unauthorized", "detail": "bad OAuth signature"})

    # Meta Graph API -------------------------------------------------------------------------
    def _graph(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        whatsapp = isinstance(body, dict) and body.get("messaging_product") == "whatsapp"
        creds = self.credentials
        token = creds.whatsapp_access_token if whatsapp else creds.meta_page_access_token
        self._check_graph_token(query, token)
        segments = path.strip("/").split("/")
        if len(segments) == 2 and segments[0].startswith("v"):
            return 200, self._graph_hide(segments[1], body)
        if len(segments) != 3 or not segments[0].startswith("v"):
            raise Rejection(400, {"error": {"message": f"Unknown path {path}", "code": 2500}})
        _, node, edge = segments
        if whatsapp and edge == "messages":
            return 200, self._whatsapp_send(body)
        if edge == "mentions":  # a reply to a comment or caption that @mentions the brand
            if not isinstance(body, dict) or not body.get("message") or not body.get("media_id"):
                raise Rejection(400, {"error": {"message": "(#100) media_id and message required"}})
            return 200, {"id": self._new_id()}
        if edge in ("comments", "replies"):
            if not isinstance(body, dict) or not body.get("message"):
                raise Rejection(400, {"error": {"message": "(#100) message is required"}})
            return 200, {"id": f"{node}_{self._new_id()}"}
        if edge == "messages":
            return 200, self._send_api(body)
        if edge == "take_thread_control":
            return 200, self._take_thread(body)
        raise Rejection(400, {"error": {"message": f"Unknown edge {edge}", "code": 100}})

    def _graph_hide(self, node: str, body: Any) -> dict[str, bool]:
        """`POST /{comment-id}`: `is_hidden` for a Facebook comment (ids `{post}_{comment}`),
        `hide` for an Instagram one (numeric ids), "true" or "false"."""
        form = body if isinstance(body, dict) else {}
        field = "is_hidden" if "_" in node else "hide"
        if form.get(field) not in ("true", "false") or set(form) != {field}:
            message = f"(#100) {node} takes {field}=true|false"
            raise Rejection(400, {"error": {"message": message, "code": 100}})
        platform = "facebook" if "_" in node else "instagram"
        self.hidden[f"{platform}:{node}"] = form[field] == "true"
        return {"success": True}

    def _check_graph_token(self, query: dict[str, str], token: str | None = None) -> None:
        token = token or self.credentials.meta_page_access_token
        if query.get("access_token") != token:
            raise Rejection(400, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        proof = hex_signature(self.credentials.meta_app_secret.encode(), token.encode())
        if query.get("appsecret_proof") != proof:
            message = "API calls from the server require an appsecret_proof argument"
            if "appsecret_proof" in query:
                message = "Invalid appsecret_proof provided in the API argument"
            raise Rejection(400, {"error": {"message": message, "code": 100}})

    def _graph_read(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Any]:
        """`GET /{ig-user-id}?fields=mentioned_comment.comment_id(ID){...}` (or
        `mentioned_media.media_id(ID){...}`): the fields asked for of that comment or caption;
        `GET /{media-id}` with the WhatsApp token: where to download a customer's file."""
        segments = path.strip("/").split("/")
        whatsapp = self.credentials.whatsapp_access_token
        if segments[-1] == "message_templates":
            return 200, self._whatsapp_template_list(segments, query)
        if len(segments) == 2 and query.get("access_token") == whatsapp:
            self._check_graph_token(query, whatsapp)
            if segments[1] not in self.whatsapp_media:  # never sent, or over 30 days old
                message = f"Unsupported get request. Object with ID '{segments[1]}' does not exist"
                raise Rejection(
                    400, {"error": {"message": message, "code": 100, "error_subcode": 33}}
                )
            content, mime_type = self.whatsapp_media[segments[1]]
            return 200, {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp-media/{segments[1]}",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": len(content),
                "id": segments[1],
            }
        self._check_graph_token(query)
        if len(segments) != 2 or not segments[0].startswith("v"):
            raise Rejection(400, {"error": {"message": f"Unknown path {path}", "code": 2500}})
        fields = query.get("fields", "")
        if segments[1] in self.graph_posts:
            return 200, self._graph_post(segments[1], fields.split(","))
        match = _MENTIONED.fullmatch(fields)
        if match is None:
            raise Rejection(400, {"error": {"message": f"(#100) unsupported fields {fields}"}})
        edge, key, wanted = match["edge"].split(".")[0], match["id"], match["fields"].split(",")
        found = self.instagram.get(key)
        if found is None:
            raise Rejection(400, {"error": {"message": f"(#100) no {edge} {key}", "code": 100}})
        answer = {"id": key, **{k: v for k, v in found.items() if k in wanted}}
        return 200, {edge: answer, "id": segments[1]}

    def _graph_post(self, node: str, fields: list[str]) -> dict[str, Any]:
        """`GET /{id}?fields=…` of a Facebook post or comment or an Instagram media: the fields
        asked for; one the node's type does not have is refused, as the Graph API does."""
        post = self.graph_posts[node]
        kind = post["type"]
        for name in fields:
            if name not in GRAPH_NODE_FIELDS[kind]:
                message = f"(#100) Tried accessing nonexisting field ({name}) on node type ({kind})"
                raise Rejection(400, {"error": {"message": message, "code": 100}})
        return {"id": node, **{name: post[name] for name in fields if name in post}}

    def _send_api(self, body: Any) -> dict[str, str]:
        if not isinstance(body, dict) or not (body.get("message") or {}).get("text"):
            raise Rejection(400, {"error": {"message": "(#100) message.text is required"}})
        recipient = body.get("recipient") or {}
        if "comment_id" in recipient:
            return {"recipient_id": "psid-from-comment", "message_id": f"m_{self._new_id()}"}
        if "id" not in recipient:
            raise Rejection(400, {"error": {"message": "(#100) recipient is required"}})
        if recipient["id"] in self.held_threads:
            message = (
                "(#10) Message failed to send because another app is controlling this thread now."
            )
            raise Rejection(
                400, {"error": {"message": message, "code": 10, "error_subcode": 2018300}}
            )
        self._check_quick_replies(body["message"].get("quick_replies"))
        kind = body.get("messaging_type")
        if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise Rejection(400, {"error": {"message": "(#100) messaging_type is required"}})
        if kind == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
            raise Rejection(400, {"error": {"message": "(#100) tag must be HUMAN_AGENT"}})
        return {"recipient_id": recipient["id"], "message_id": f"m_{self._new_id()}"}

    @staticmethod
    def _check_quick_replies(buttons: Any) -> None:
        """Send API quick replies: at most 13; a text one has a title of 1-20 characters and a
        payload of at most 1,000."""
        if buttons is None:
            return
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 13:
            raise Rejection(400, {"error": {"message": "(#100) 1 to 13 quick_replies"}})
        for button in buttons:
            title, payload = button.get("title"), button.get("payload", "")
            text = button.get("content_type") == "text"
            if not text or not isinstance(title, str) or not 1 <= len(title) <= 20:
                raise Rejection(400, {"error": {"message": "(#100) quick reply title invalid"}})
            if not isinstance(payload, str | int) or len(str(payload)) > 1000:
                raise Rejection(400, {"error": {"message": "(#100) quick reply payload invalid"}})

    def _whatsapp_send(self, body: dict[str, Any]) -> dict[str, Any]:
        """Cloud API: a text message to one WhatsApp user, 4,096 characters at most, or one of
        the approved message templates with a value for each of its variables."""
        if body.get("type") == "template":
            self._check_template(body.get("template") or {})
        elif body.get("type") == "interactive":
            self._check_list(body.get("interactive") or {})
        else:
            text = (body.get("text") or {}).get("body") if body.get("type") == "text" else None
            if not text:
                raise Rejection(400, {"error": {"message": "(#100) text.body is required"}})
            if len(text) > 4096:
                raise Rejection(400, {"error": {"message": "(#100) text.body is too long"}})
        if not body.get("to"):
            raise Rejection(400, {"error": {"message": "(#100) to is required"}})
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.{self._new_id()}"}],
        }

    @staticmethod
    def _check_list(interactive: dict[str, Any]) -> None:
        """An interactive list message: a body of 1-1,024 characters, a button of 1-20, 1-10
        sections with 1-10 rows in all, each row an id of up to 200 characters and a title of
        up to 24."""

        def refuse(what: str) -> Rejection:
            return Rejection(400, {"error": {"message": f"(#131009) {what}", "code": 131009}})

        if interactive.get("type") != "list":
            raise refuse("interactive.type must be list here")
        text = (interactive.get("body") or {}).get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 1024:
            raise refuse("body.text must be 1-1024 characters")
        action = interactive.get("action") or {}
        button, sections = action.get("button"), action.get("sections")
        if not isinstance(button, str) or not 1 <= len(button) <= 20:
            raise refuse("action.button must be 1-20 characters")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise refuse("1 to 10 sections")
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            raise refuse("1 to 10 rows in all")
        for row in rows:
            if not 1 <= len(str(row.get("id") or "")) <= 200:
                raise refuse("a row id must be 1-200 characters")
            if not 1 <= len(str(row.get("title") or "")) <= 24:
                raise refuse("a row title must be 1-24 characters")

    def _whatsapp_download(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """A customer's file, to a caller with the WhatsApp token as a Bearer header."""
        if headers.get("authorization") != f"Bearer {self.credentials.whatsapp_access_token}":
            raise Rejection(401, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        found = self.whatsapp_media.get(path.strip("/"))
        if found is None:
            raise Rejection(404, {"error": {"message": "media not found"}})
        return 200, found[0]

    def _whatsapp_template_list(self, segments: list[str], query: dict[str, str]) -> dict[str, Any]:
        """`GET /{waba-id}/message_templates?fields=…&status=APPROVED`: the approved templates,
        numbered and named, with the fields asked for (WhatsApp's shape)."""
        self._check_graph_token(query, self.credentials.whatsapp_access_token)
        if len(segments) != 3 or segments[1] != self.credentials.whatsapp_business_account_id:
            message = f"Unsupported get request. Object with ID '{segments[1]}' does not exist"
            raise Rejection(400, {"error": {"message": message, "code": 100}})
        wanted = set(query.get("fields", "name,language,status,id").split(","))
        found: list[dict[str, Any]] = []
        kinds = ((self.whatsapp_templates, "POSITIONAL"), (self.whatsapp_named_templates, "NAMED"))
        for templates, parameter_format in kinds:
            for (name, language), body in templates.items():
                template = {
                    "name": name,
                    "language": language,
                    "status": "APPROVED",
                    "category": "UTILITY",
                    "parameter_format": parameter_format,
                    "components": [{"type": "BODY", "text": body}],
                    "id": f"9{len(found):014d}",
                }
                found.append({k: v for k, v in template.items() if k in wanted or k == "id"})
        return {"data": found, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}}

    def _check_template(self, template: dict[str, Any]) -> None:
        """The template exists in that language, and its body gets a text for each variable."""
        key = (template.get("name"), (template.get("language") or {}).get("code"))
        if key not in self.whatsapp_templates:
            message = "(#132001) Template name does not exist in the translation"
            raise Rejection(404, {"error": {"message": message, "code": 132001}})
        body = [c for c in template.get("components", []) if c.get("type") == "body"]
        values = [p for c in body for p in c.get("parameters", []) if p.get("text")]
        variables = set(re.findall(r"\{\{(\d+)\}\}", self.whatsapp_templates[key]))
        if len(values) != len(variables):
            message = "(#132000) Number of parameters does not match the expected number of params"
            raise Rejection(400, {"error": {"message": message, "code": 132000}})

    def _take_thread(self, body: Any) -> dict[str, bool]:
        """Handover protocol: an app takes an idle conversation, or, as the Primary Receiver,
        one another app holds."""
        person = ((body.get("recipient") or {}) if isinstance(body, dict) else {}).get("id")
        if not person:
            raise Rejection(400, {"error": {"message": "(#100) recipient is required"}})
        if not self.held_threads.get(person, True):
            message = (
                "(#10) Only the Primary Receiver can take control of this thread"  # wording ours
            )
            raise Rejection(400, {"error": {"message": message, "code": 10}})
        self.held_threads.pop(person, None)
        return {"success": True}

    # YouTube Data API -----------------------------------------------------------------------
    def _youtube(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        self._check_youtube_token(headers)
        if path == "/v3/comments/setModerationStatus":
            status = query.get("moderationStatus")
            if not query.get("id") or status not in ("heldForReview", "published", "rejected"):
                raise Rejection(400, {"error": {"code": 400, "message": "id and moderationStatus"}})
            self.hidden[f"youtube:{query['id']}"] = status != "published"
            return 204, b""
        snippet = body.get("snippet", {}) if isinstance(body, dict) else {}
        if path != "/v3/comments" or query.get("part") != "snippet":
            raise Rejection(404, {"error": {"code": 404, "message": "not found"}})
        if not snippet.get("parentId") or not snippet.get("textOriginal"):
            raise Rejection(400, {"error": {"code": 400, "message": "parentId and textOriginal"}})
        return 200, {"kind": "youtube#comment", "id": f"Ug{self._new_id()}", "snippet": snippet}

    def _check_youtube_token(self, headers: dict[str, str]) -> None:
        """The fixed token, or one the token endpoint issued that has not expired."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        issued = self.google_tokens.get(token, 0) > time.time()
        if scheme != "Bearer" or (token != self.credentials.youtube_access_token and not issued):
            raise Rejection(401, {"error": {"code": 401, "message": "Invalid Credentials"}})

    # Google OAuth 2.0 token endpoint ------------------------------------------------------------
    def _google(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        """`POST /token`, form-encoded `grant_type=refresh_token` with the refresh token and
        the OAuth client it was issued to → a Bearer access token for an hour."""
        if path != "/token":
            raise Rejection(404, {"error": "not_found"})
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Rejection(400, {"error": "invalid_request", "error_description": "form body"})
        if body.get("grant_type") != "refresh_token":
            raise Rejection(400, {"error": "unsupported_grant_type"})
        expected = (self.credentials.youtube_client_id, self.credentials.youtube_client_secret)
        if (body.get("client_id"), body.get("client_secret")) != expected:
            raise Rejection(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if body.get("refresh_token") != self.credentials.youtube_refresh_token:
            raise Rejection(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = f"ya29.local-{self._new_id()}"
        self.google_tokens[token] = time.time() + 3599
        scope = "https://www.googleapis.com/auth/youtube.force-ssl"
        return 200, {
            "access_token": token,
            "expires_in": 3599,
            "scope": scope,
            "token_type": "Bearer",
        }

    def _youtube_read(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Any]:
        """`commentThreads.list` by channel, newest first, or by `id` with the replies (up to
        five of each, as YouTube includes a subset), and `comments.list` by `parentId`, paged by
        `pageToken`."""
        self._check_youtube_token(headers)
        if path == "/v3/commentThreads" and "id" in query:
            return 200, self._threads_by_id(query)
        if path == "/v3/videos":
            return 200, self._videos(query)
        size = int(query.get("maxResults", "20"))
        if query.get("part") != "snippet" or not 1 <= size <= 100:
            raise Rejection(400, {"error": {"code": 400, "message": "invalid parameters"}})
        if path == "/v3/commentThreads":
            channel = query.get("allThreadsRelatedToChannelId")
            if not channel or query.get("order") != "time":
                raise Rejection(400, {"error": {"code": 400, "message": "invalid parameters"}})
            kind, items = "commentThreadListResponse", self.youtube_threads.get(channel, [])
        elif path == "/v3/comments" and query.get("parentId"):
            kind, items = "commentListResponse", self.youtube_replies.get(query["parentId"], [])
        else:
            raise Rejection(404, {"error": {"code": 404, "message": "not found"}})
        start = int(query.get("pageToken", "0"))
        answer: dict[str, Any] = {"kind": f"youtube#{kind}", "items": items[start : start + size]}
        if start + size < len(items):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _videos(self, query: dict[str, str]) -> dict[str, Any]:
        """`videos.list` by `id` (commas between ids), `part=snippet`: the videos known, none
        for the others (deleted, private)."""
        if query.get("part") != "snippet" or not query.get("id"):
            raise Rejection(400, {"error": {"code": 400, "message": "part and id are required"}})
        ids = query["id"].split(",")
        items = [
            {"kind": "youtube#video", "id": video, "snippet": self.youtube_videos[video]}
            for video in ids
            if video in self.youtube_videos
        ]
        return {"kind": "youtube#videoListResponse", "items": items}

    def _threads_by_id(self, query: dict[str, str]) -> dict[str, Any]:
        ids = query["id"].split(",")
        if (
            query.get("part") != "snippet,replies"
            or not 1 <= len(ids) <= 50
            or "maxResults" in query
        ):
            raise Rejection(400, {"error": {"code": 400, "message": "invalid parameters"}})
        known = {t["id"]: t for threads in self.youtube_threads.values() for t in threads}
        items = []
        for i in filter(known.__contains__, ids):
            replies = self.youtube_replies.get(i, [])
            snippet = {**known[i]["snippet"], "totalReplyCount": len(replies)}
            items.append({**known[i], "snippet": snippet, "replies": {"comments": replies[:5]}})
        return {"kind": "youtube#commentThreadListResponse", "items": items}

    # Slack Web API --------------------------------------------------------------------------
    def _slack(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        self._slack_token(headers)
        method = path.removeprefix("/api/")
        if method == "views.open":
            return 200, self._slack_modal(body)
        if method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return 200, {"ok": False, "error": "unknown_method"}
        if not isinstance(body, dict) or not body.get("channel"):
            return 200, {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return 200, {"ok": False, "error": "no_text"}
        problem = _blocks_problem(body.get("blocks", []))
        if problem is not None:
            return 200, {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        if method == "chat.postEphemeral":
            if not body.get("user"):
                return 200, {"ok": False, "error": "user_not_in_channel"}
            return 200, {"ok": True, "message_ts": f"{self._new_id()}.000200"}
        if method == "chat.update":
            ts = str(body.get("ts"))
            if self.slack_messages.get(ts, {}).get("channel") != body["channel"]:
                return 200, {"ok": False, "error": "message_not_found"}
        else:
            ts = f"{self._new_id()}.000100"
            person = str(body["channel"])
            if person[:1] in ("U", "W"):  # to a member: in the app's direct messages with them
                body = {**body, "channel": "D" + person[1:]}
        self.slack_messages[ts] = body
        return 200, {"ok": True, "channel": body["channel"], "ts": ts, "text": body.get("text")}

    def _slack_modal(self, body: Any) -> dict[str, Any]:
        """`views.open`: a modal (title up to 24 characters, a submit button when it has an
        input, private_metadata up to 3,000) for the press whose `trigger_id` it names."""
        view = body.get("view") if isinstance(body, dict) else None
        if not isinstance(view, dict) or not body.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        title = view.get("title") or {}
        inputs = any(b.get("type") == "input" for b in view.get("blocks") or [])
        if (
            view.get("type") != "modal"
            or title.get("type") != "plain_text"
            or not 1 <= len(str(title.get("text", ""))) <= 24
            or (inputs and (view.get("submit") or {}).get("type") != "plain_text")
            or len(str(view.get("private_metadata", ""))) > 3000
        ):
            return {"ok": False, "error": "invalid_arguments"}
        problem = _blocks_problem(view.get("blocks"))
        if problem is not None:
            return {"ok": False, "error": "invalid_arguments", "errors": [problem]}
        self.slack_views.append(view)
        return {"ok": True, "view": {"id": f"V{self._new_id()}", **view}}

    def _slack_token(self, headers: dict[str, str]) -> None:
        """Slack's answer to a call without the bot token: `ok: false`, `invalid_auth`."""
        if headers.get("authorization") != f"Bearer {self.credentials.slack_bot_token}":
            raise Rejection(200, {"ok": False, "error": "invalid_auth"})

    def _slack_read(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Any]:
        """`GET conversations.history?channel=…`: the app's messages in the channel, newest
        first (to see an alert, and press its button, on `make run`)."""
        self._slack_token(headers)
        if path != "/api/conversations.history":
            return 200, {"ok": False, "error": "unknown_method"}
        channel = query.get("channel", "")
        messages = [
            {
                "type": "message",
                "ts": ts,
                "text": body.get("text", ""),
                "blocks": body.get("blocks"),
            }
            for ts, body in reversed(self.slack_messages.items())
            if body["channel"] == channel
        ]
        return 200, {"ok": True, "messages": messages, "has_more": False}

    # Teams webhooks ---------------------------------------------------------------------------
    def _teams(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        """A webhook posting a card to a channel: `{"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "content": AdaptiveCard}]}`,
        its URL signed (`sig`); 202 with no body."""
        if query.get("sig") != self.credentials.teams_webhook_sig:
            raise Rejection(401, {"error": {"code": "DirectApiAuthorizationRequired"}})
        problem = _card_problem(body)
        if problem is not None:
            raise Rejection(400, {"error": {"code": "InvalidRequestContent", "message": problem}})
        return 202, b""


def _blocks_problem(blocks: Any) -> str | None:
    """What keeps Slack `blocks` from being Block Kit a message or modal can show (sections of
    text up to 3,000 characters, actions of buttons with an action id and a plain-text label and
    overflow menus, context lines, inputs), if anything."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "blocks must be a list of at most 50"
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "section":
            text = block.get("text")
            if not isinstance(text, dict) or not 1 <= len(str(text.get("text", ""))) <= 3000:
                return "a section's text must be 1 to 3000 characters"
        elif kind == "actions":
            for button in block.get("elements") or [None]:
                if isinstance(button, dict) and button.get("type") == "overflow":
                    problem = _options_problem(button.get("options"), "overflow", 5)
                    if problem is not None or len(button["options"]) < 2:
                        return problem or "an overflow has 2 to 5 options"
                    continue
                if not isinstance(button, dict) or button.get("type") != "button":
                    return "an actions block needs buttons"
                label = button.get("text") or {}
                if not button.get("action_id") or label.get("type") != "plain_text":
                    return "a button needs an action_id and a plain_text label"
                if len(str(button.get("value", ""))) > 2000:
                    return "a button's value is at most 2000 characters"
        elif kind == "context":
            if not block.get("elements"):
                return "a context block needs elements"
        elif kind == "input":
            label, element = block.get("label") or {}, block.get("element") or {}
            if label.get("type") != "plain_text" or not element.get("action_id"):
                return "an input needs a plain_text label and an element with an action_id"
            if element.get("type") == "static_select":
                return _options_problem(element.get("options"))
            if element.get("type") == "checkboxes":
                return _options_problem(element.get("options"), "checkboxes", 10)
        else:
            return f"no block type {kind!r} here"
    return None


def _options_problem(options: Any, kind: str = "static_select", most: int = 100) -> str | None:
    """What keeps the `options` of a select (or another `kind` of element) from being Block
    Kit's (1 to `most`, each a plain-text label up to 75 characters and a value up to 150), if
    anything."""
    if not isinstance(options, list) or not 1 <= len(options) <= most:
        return f"a {kind} has 1 to {most} options"
    for option in options:
        text = option.get("text") or {} if isinstance(option, dict) else {}
        if text.get("type") != "plain_text" or not 1 <= len(str(text.get("text", ""))) <= 75:
            return "an option's text is plain_text of 1 to 75 characters"
        if not 1 <= len(str(option.get("value", ""))) <= 150:
            return "an option's value is 1 to 150 characters"
    return None


def _card_problem(body: Any) -> str | None:
    """What keeps a Teams webhook body from being a message with an Adaptive Card of text
    (TextBlock, or RichTextBlock of TextRuns), if anything."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return "type must be message"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "attachments must be a non-empty list"
    for attachment in attachments:
        if not isinstance(attachment, dict) or (
            attachment.get("contentType") != "application/vnd.microsoft.card.adaptive"
        ):
            return "contentType must be application/vnd.microsoft.card.adaptive"
        content = attachment.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            return "content must be an AdaptiveCard"
        if not isinstance(content.get("version"), str) or not isinstance(content.get("body"), list):
            return "an AdaptiveCard needs a version and a body"
        for element in content["body"]:
            if not isinstance(element, dict):
                return "a card's body holds elements"
            runs = element.get("inlines") if element.get("type") == "RichTextBlock" else [element]
            texts = [run.get("text") for run in runs or [] if isinstance(run, dict)]
            if not texts or not all(isinstance(text, str) for text in texts):
                return f"a {element.get('type')} without text"
    return None


def _without_author(post: dict[str, Any]) -> dict[str, Any]:
    """A fake's post as X sends it: the author and the photos and videos (`media`) in
    `includes`, only their ids (`author_id`, `attachments.media_keys`) in the post."""
    return {key: value for key, value in post.items() if key not in ("author", "media")}
