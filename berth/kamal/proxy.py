"""kamal-proxy's settings: which roles run behind it (Role#running_proxy?), each role's proxy as the root's
deep-merged with its own (Proxy#merge), then one berth:proxy for all of them. A proxied role whose host names
or port differ would answer the wrong names in Berth, so it is refused; any other difference is reported.
Kamal's seconds become durations; TLS follows Berth's rules (Let's Encrypt on one host, else Cloudflare), and
Kamal's plain HTTP (`ssl: false`, or no host) stays plain HTTP: `proxy.ssl: external`, TLS ending before it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .translate import Translation


def translate(t: Translation, roles: dict[str, list[str]]) -> None:
    """Kamal's Role#running_proxy? and Proxy#merge, then one berth:proxy for every proxied role."""
    servers = t.k.get("servers")
    root = t.k.get("proxy") or {}
    proxied: dict[str, dict] = {}
    for role in roles:
        spec = servers.get(role) if isinstance(servers, dict) and isinstance(servers.get(role), dict) else {}
        own = spec.get("proxy")
        running = own is not False if role == t.primary else bool(own)
        if isinstance(own, bool):
            t.take("servers", role, "proxy")
        if running:
            proxied[role] = deep_merge(root if isinstance(root, dict) else {}, own if isinstance(own, dict) else {})
        if role == t.primary and not running:
            t.put(("servers", t.role(role), "proxy"), False, ("servers", role, "proxy"))
        if role != t.primary and running:
            t.put(("servers", t.role(role), "proxy"), True, ("servers", role, "proxy"))
    if not proxied:
        if root:
            t.note("not-taken", ("proxy",), "no role runs behind kamal-proxy, so Kamal uses none of it either")
        return
    chosen = t.primary if t.primary in proxied else next(iter(proxied))
    effective = proxied[chosen]
    where = ("proxy",) if root else ("servers", chosen, "proxy")
    for role, config in proxied.items():
        for key in sorted(set(config) | set(effective)):
            if config.get(key) == effective.get(key):
                continue
            at = ("servers", role, "proxy", key)
            if key in ("host", "hosts", "app_port"):  # the role would answer other names, or on another port
                t.problem(at, f"the {role} role's proxy {key} differs from the {chosen} role's, and Berth "
                                 f"routes every proxied role with one berth:proxy: import {role} as a stack of "
                                 f"its own (a deploy file with the {role} role alone), or give both roles the "
                                 "same setting")
            else:
                t.note("not-taken", at, f"differs from the {chosen} role's; Berth routes every proxied role "
                                           f"with one berth:proxy ({chosen}'s)")
    out: dict[str, Any] = {}
    hosts = effective.get("hosts") or [h.strip() for h in str(effective.get("host") or "").split(",") if h.strip()]
    t.take(*where, "host")
    t.take(*where, "hosts")
    if hosts:
        out["hosts"] = [str(h) for h in hosts]
    ssl = effective.get("ssl", False)
    t.take(*where, "ssl")
    behind = sum(len(roles[r]) for r in proxied)
    if t.s.cloudflare_zone:
        out["ssl"] = "auto"
        if ssl is not True:
            t.note("changed", (*where, "ssl"), "Kamal's proxy served plain HTTP; behind Cloudflare's proxy Berth "
                                                  "serves HTTPS with a Cloudflare Origin CA certificate (zone SSL "
                                                  "mode Full (strict))", key="proxy/ssl")
    elif not ssl:  # Kamal's plain HTTP: TLS, if any, ends before kamal-proxy
        out["ssl"] = "external"
        out["acknowledgePlaintextOrigin"] = True
        t.d.comments[("proxy", "ssl")] = "Kamal's ssl: false: kamal-proxy serves plain HTTP; TLS ends before it"
        t.note("check", (*where, "ssl"), f"Kamal's proxy served plain HTTP to {', '.join(map(str, hosts)) or 'every name'}, "
                                            "and so does Berth's (proxy.ssl: external, X-Forwarded-* passed on as "
                                            "Kamal does): TLS must end before it, at your load balancer or web "
                                            "server. To let kamal-proxy serve HTTPS instead: ssl: letsencrypt (one "
                                            "host, named hosts), or --cloudflare-zone", key="proxy/ssl")
    elif behind == 1:
        out["ssl"] = "letsencrypt"
        if ssl is not True:
            t.note("changed", (*where, "ssl"), "Kamal's proxy served a certificate from your secrets; Berth serves "
                                                  "HTTPS with Let's Encrypt (the host name must point at the server), "
                                                  "or behind Cloudflare with its origin certificate "
                                                  "(--cloudflare-zone)", key="proxy/ssl")
    else:
        t.problem(where + ("ssl",), f"{behind} hosts sit behind kamal-proxy with a certificate from your secrets: "
                                       "Berth serves TLS on several hosts only behind Cloudflare's proxy (with its "
                                       "origin certificate); import again with --cloudflare-zone ZONE")
    if isinstance(ssl, dict):
        for secret in ssl.values():
            t.take(*where, "ssl")
            t.note("not-taken", (*where, "ssl"), f"certificate secrets ({secret}) are not used: Berth's "
                                                    "certificates come from Let's Encrypt or Cloudflare")
    if "app_port" in effective:
        out["appPort"] = int(effective["app_port"])
        t.take(*where, "app_port")
    healthcheck = effective.get("healthcheck") or {}
    if healthcheck:
        check: dict[str, Any] = {}
        if "path" in healthcheck:
            check["path"] = str(healthcheck["path"])
        for key in ("interval", "timeout"):
            if key in healthcheck:
                check[key] = seconds(healthcheck[key])
        out["healthcheck"] = check
        t.take(*where, "healthcheck")
    if "response_timeout" in effective:
        out["responseTimeout"] = seconds(effective["response_timeout"])
        t.take(*where, "response_timeout")
    for kamal_key, berth_key in (("deploy_timeout", "deployTimeout"), ("drain_timeout", "drainTimeout")):
        if t.k.get(kamal_key) is not None:
            out[berth_key] = seconds(t.k.get(kamal_key))
            t.take(kamal_key)
    buffering = effective.get("buffering") or {}
    if buffering:
        names = {"requests": "requests", "responses": "responses", "memory": "memory",
                 "max_request_body": "maxRequestBody", "max_response_body": "maxResponseBody"}
        out["buffering"] = {names[k]: v for k, v in buffering.items() if k in names}
        t.take(*where, "buffering")
    if "forward_headers" in effective:
        out["forwardHeaders"] = bool(effective["forward_headers"])
        t.take(*where, "forward_headers")
    logging = effective.get("logging") or {}
    if logging:
        out["logging"] = {"requestHeaders" if k == "request_headers" else "responseHeaders": [str(h) for h in v]
                          for k, v in logging.items() if k in ("request_headers", "response_headers")}
        t.take(*where, "logging")
    if effective.get("ssl_redirect") is False:
        t.note("not-taken", (*where, "ssl_redirect"), "Berth always redirects HTTP to HTTPS")
    elif "ssl_redirect" in effective:
        t.take(*where, "ssl_redirect")
    _paths(t, effective, where, out)
    _run(t, effective.get("run") or {}, where, out)
    t.put(("proxy",), out, where)
    for key in effective:  # each key is taken or noted above; the same key of every role agrees with it
        t.take("proxy", key)
        for role in proxied:
            if proxied[role].get(key) == effective.get(key):
                t.take("servers", role, "proxy", key)


_RUN = {"http_port": "httpPort", "https_port": "httpsPort", "bind_ips": "bindIps", "publish": "publish"}


def _run(t: Translation, run: dict, where: tuple, out: dict[str, Any]) -> None:
    """Kamal's `proxy.run` (Proxy::Run): the version, and how the proxy's ports are published (a web server of the
    user's own on 80/443 in front of it, or a private address only), carried; its other settings reported."""
    published: dict[str, Any] = {}
    for key, value in run.items():
        at = (*where, "run", key)
        if key == "version":
            out["version"] = str(value)
            t.take(*at)
        elif key in _RUN:
            published[_RUN[key]] = [str(ip) for ip in value] if key == "bind_ips" else value
            t.take(*at)
        else:
            t.note("not-taken", at, "Berth runs kamal-proxy with its own settings (image basecamp/kamal-proxy, logs "
                                    "json-file 10m, no metrics port); only version and the published ports carry "
                                    "over")
    if published:
        out["run"] = published


def _paths(t: Translation, effective: dict, where: tuple, out: dict[str, Any]) -> None:
    """Kamal's `path_prefix` (comma-separated) or `path_prefixes`, and `strip_path_prefix` (Proxy#path_prefixes).
    kamal-proxy gives a route below a path the TLS of the route at / of its host, and refuses TLS settings on it."""
    keys = [k for k in ("path_prefix", "path_prefixes", "strip_path_prefix") if k in effective]
    if not keys:
        return
    prefixes = effective.get("path_prefixes") or [p for p in str(effective.get("path_prefix") or "").split(",") if p]
    if out.get("ssl") == "external":
        if prefixes:
            out["pathPrefixes"] = [str(p) for p in prefixes]
        if "strip_path_prefix" in effective:
            out["stripPathPrefix"] = bool(effective["strip_path_prefix"])
        for key in keys:
            t.take(*where, key)
        t.note("check", (*where, keys[0]), f"routes {', '.join(map(str, prefixes))} only: kamal-proxy gives this route "
                                           "the TLS of the route at / on its host; if another app's stack owns "
                                           "kamal-proxy on these hosts, set proxy.shared: true")
    elif effective.get("ssl") is True:
        t.problem((*where, keys[0]), f"{'/'.join(map(str, (*where, keys[0])))}: kamal-proxy refuses TLS settings on a "
                                     "route below a path (\"TLS settings must be specified on the root path service\"), "
                                     "so Kamal's deploy fails too: set ssl: false (the route at / serves TLS)")
    else:
        for key in keys:
            t.note("not-taken", (*where, key), "behind --cloudflare-zone Berth serves TLS on this route, which "
                                               "kamal-proxy allows only at /: Berth routes the whole host names")


def deep_merge(base: dict, other: dict) -> dict:
    """ActiveSupport's deep_merge: the other's keys win, mappings merge key by key."""
    out = dict(base)
    for key, value in other.items():
        out[key] = deep_merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def seconds(value: Any) -> str:
    """Kamal's `seconds_duration`: a number of seconds becomes `<n>s`."""
    return f"{value}s"
