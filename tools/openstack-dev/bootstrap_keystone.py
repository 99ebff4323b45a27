#!/usr/bin/python3
"""Idempotently shape a running Keystone for certctl's integration tests.

    bootstrap_keystone.py --keystone-url http://127.0.0.1:PORT/v3 \
        --barbican-url http://127.0.0.1:PORT --secrets-dir DIR

Over Keystone's REST API only (stdlib urllib), as the bootstrap admin (password
in DIR/admin), looks each thing up by name and creates or repairs what is
missing or different:

  roles     creator, observer, audit (Barbican 15's legacy policy roles)
  projects  service, demo
  users     barbican          (DIR/barbican)          admin    on service
            certctl           (DIR/certctl)           creator  on demo
            certctl-observer  (DIR/certctl-observer)  observer on demo
  catalog   identity endpoints (public/internal/admin) = --keystone-url;
            service key-manager "barbican", public + internal endpoints =
            --barbican-url, region RegionOne

A user whose password no longer works (a test changed it) or that was
disabled gets its password reset and is enabled again. Quiet on success.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DOMAIN = "default"
REGION = "RegionOne"


class Api(object):
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.token = None

    def call(self, method, path, body=None, ok=(200, 201, 204), token=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token and self.token:
            req.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        if status not in ok:
            raise SystemExit("keystone bootstrap: %s %s -> %d %s"
                             % (method, path, status, raw[:500].decode("utf-8", "replace")))
        return status, headers, (json.loads(raw) if raw else None)

    def password_works(self, user, password):
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"id": DOMAIN}, "password": password}}}}}
        status, headers, _ = self.call("POST", "/auth/tokens", body,
                                       ok=(201, 401), token=False)
        return status == 201

    def login(self, user, password, project):
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"name": user, "domain": {"id": DOMAIN}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": DOMAIN}}}}}
        _, headers, _ = self.call("POST", "/auth/tokens", body, ok=(201,), token=False)
        self.token = headers["X-Subject-Token"]

    def find(self, collection, **filters):
        query = urllib.parse.urlencode(filters)
        _, _, body = self.call("GET", "/%s?%s" % (collection, query))
        return body[collection]

    def ensure(self, collection, key, attrs, lookup):
        found = self.find(collection, **lookup)
        if found:
            return found[0]
        _, _, body = self.call("POST", "/" + collection, {key: attrs})
        return body[key]


def read_secret(secrets_dir, name):
    with open(os.path.join(secrets_dir, name)) as f:
        return f.read().strip()


def ensure_endpoints(api, service_id, urls):
    existing = api.find("endpoints", service_id=service_id)
    for interface, url in urls.items():
        matches = [e for e in existing if e["interface"] == interface]
        if not matches:
            api.call("POST", "/endpoints", {"endpoint": {
                "service_id": service_id, "interface": interface, "url": url,
                "region_id": REGION, "enabled": True}})
            continue
        for extra in matches[1:]:
            api.call("DELETE", "/endpoints/%s" % extra["id"])
        ep = matches[0]
        if ep["url"] != url or not ep.get("enabled", True):
            api.call("PATCH", "/endpoints/%s" % ep["id"],
                     {"endpoint": {"url": url, "enabled": True}})


def ensure_user(api, name, password, project):
    users = api.find("users", name=name, domain_id=DOMAIN)
    if not users:
        _, _, body = api.call("POST", "/users", {"user": {
            "name": name, "password": password, "domain_id": DOMAIN,
            "default_project_id": project["id"], "enabled": True}})
        return body["user"]
    user = users[0]
    if not user.get("enabled", True) or not api.password_works(name, password):
        api.call("PATCH", "/users/%s" % user["id"],
                 {"user": {"password": password, "enabled": True}})
        user["_reset"] = True
    return user


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keystone-url", required=True)
    p.add_argument("--barbican-url", required=True)
    p.add_argument("--secrets-dir", required=True)
    args = p.parse_args()
    keystone_url = args.keystone_url.rstrip("/")
    barbican_url = args.barbican_url.rstrip("/")

    api = Api(keystone_url)
    api.login("admin", read_secret(args.secrets_dir, "admin"), "admin")

    roles = {}
    for name in ("admin", "creator", "observer", "audit"):
        roles[name] = api.ensure("roles", "role", {"name": name}, {"name": name})

    projects = {}
    for name, description in (("service", "OpenStack service users"),
                              ("demo", "certctl integration tests")):
        projects[name] = api.ensure(
            "projects", "project",
            {"name": name, "domain_id": DOMAIN, "description": description, "enabled": True},
            {"name": name, "domain_id": DOMAIN})
        if not projects[name].get("enabled", True):
            api.call("PATCH", "/projects/%s" % projects[name]["id"],
                     {"project": {"enabled": True}})

    reset = False
    for user_name, project, role in (("barbican", "service", "admin"),
                                     ("certctl", "demo", "creator"),
                                     ("certctl-observer", "demo", "observer")):
        user = ensure_user(api, user_name, read_secret(args.secrets_dir, user_name),
                           projects[project])
        reset = reset or user.get("_reset", False)
        api.call("PUT", "/projects/%s/users/%s/roles/%s"
                 % (projects[project]["id"], user["id"], roles[role]["id"]))

    identity = api.find("services", type="identity")
    if not identity:
        raise SystemExit("keystone bootstrap: no identity service in the catalog")
    ensure_endpoints(api, identity[0]["id"],
                     {"public": keystone_url, "internal": keystone_url, "admin": keystone_url})

    key_manager = api.ensure(
        "services", "service",
        {"type": "key-manager", "name": "barbican", "enabled": True,
         "description": "Barbican (certctl integration tests)"},
        {"type": "key-manager"})
    if not key_manager.get("enabled", True):
        api.call("PATCH", "/services/%s" % key_manager["id"], {"service": {"enabled": True}})
    ensure_endpoints(api, key_manager["id"],
                     {"public": barbican_url, "internal": barbican_url})

    if reset:
        # A password reset leaves a revocation event with one-second
        # granularity: a token issued in the same second would be refused.
        time.sleep(1.1)


if __name__ == "__main__":
    try:
        main()
    except (urllib.error.URLError, OSError) as e:
        raise SystemExit("keystone bootstrap: %s" % e)
