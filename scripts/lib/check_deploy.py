#!/usr/bin/env python3
"""Static cross-check of the deployment files (there is no Docker engine or
Kubernetes cluster in CI, so this is what keeps them true).

    python3 scripts/lib/check_deploy.py [--repo DIR] [--self-test]

Parses docker-compose.yml, .env.example, the Dockerfile, .dockerignore,
nginx/gateway.conf.template, deploy/compose/* and deploy/k8s/* and checks
that they agree with each other and with the services' sources:

* every referenced file exists (bind mounts, build contexts, COPY sources,
  config layers, kustomize resources) and is not excluded by .dockerignore;
* images build from Dockerfile targets that exist; runtime targets run as a
  non-root user and have a HEALTHCHECK; `service_healthy` dependencies have
  a health check; named volumes and networks are declared;
* every ${VAR} the compose file needs is in .env.example (and vice versa);
* ports agree: APP_APPLICATION__PORT = the target's EXPOSE = the nginx
  upstreams = the Prometheus targets = the Kubernetes containerPort,
  Service targetPort and probes; URLs in settings name real services;
* every APP_<SECTION>__<KEY> (and every key of a YAML settings layer) is a
  setting of that service (its configuration/base.yaml), every command is
  one of its subcommands;
* nginx gets a value for every ${GATEWAY_*} placeholder of its template,
  and coupon-service trusts exactly the nginx address for X-Forwarded-For;
* the gateway's rules: no HTTP status makes nginx (or an Ingress) try
  another instance (an application's 503 would evict instances), TLS 1.2
  suites are AEAD only, /ws has a per-address connection limit, the
  public event reads a per-address rate limit and a cache key that random
  query parameters cannot change, compose's
  main nginx config has the template's connection limits, and only the
  gateway's port is published on every interface;
* the Grafana dashboard only uses metrics the services export;
* Kubernetes: selectors match pod labels, Services/Ingresses/HPAs/PDBs point
  at objects that exist, ConfigMap/Secret references resolve (Secrets from
  secrets.example.yaml), probes and resources are set.

--self-test breaks copies of the files in known ways and makes sure each
break is reported (a check that cannot fail checks nothing).
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import ipaddress
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - reported by scripts/dev
    sys.stderr.write("error: PyYAML is missing (apt-get install python3-yaml)\n")
    sys.exit(2)

# libyaml's loader when present: the self-test parses everything ~20 times.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_network(text: str) -> bool:
    """Whether `text` is an address or a CIDR range."""
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def load_yaml(text: str):
    return yaml.load(text, Loader=LOADER)


# Our images: Dockerfile target -> the service whose sources/settings it runs.
SERVICE_TARGETS = {"coupon-service": "coupon-service", "notify-service": "notify-service"}
# Well-known ports of the third-party images in docker-compose.yml.
IMAGE_PORTS = {"postgres": 5432, "redis": 6379, "rabbitmq": 5672, "prometheus": 9090, "grafana": 3000}
# Metrics the dashboard shows before a service exports them (asked for).
PENDING_METRICS = {"coupon_event_remaining"}
K8S_KINDS = {
    "Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Ingress",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
}



def clap_subcommands(main_rs: str) -> set[str]:
    """The subcommands of a clap `enum Command` in main.rs, as typed on the
    command line (variant `SeedDemo` is `seed-demo`)."""
    block = re.search(r"enum Command \{(.*?)\n\}", main_rs, re.S)
    if not block:
        return set()
    variants = re.findall(r"^    ([A-Z][A-Za-z0-9]*)\b", block.group(1), re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", v).lower() for v in variants}

class Checker:
    def __init__(self, repo: Path, overrides: dict[str, str] | None = None):
        self.repo = repo
        self.errors: list[str] = []
        self.checks = 0
        # Self-test: file contents replacing the real ones.
        self.overrides = overrides or {}

    # --- helpers ----------------------------------------------------------

    def read(self, rel: str) -> str:
        if rel in self.overrides:
            return self.overrides[rel]
        return (self.repo / rel).read_text()

    def exists(self, rel: str) -> bool:
        return rel in self.overrides or (self.repo / rel).exists()

    def expect(self, ok: bool, where: str, message: str) -> bool:
        self.checks += 1
        if not ok:
            self.errors.append(f"{where}: {message}")
        return ok

    def yaml_docs(self, rel: str) -> list:
        return [d for d in yaml.load_all(self.read(rel), Loader=LOADER) if d is not None]

    # --- sources of truth ---------------------------------------------------

    def load_sources(self) -> None:
        self.settings = {}
        self.subcommands = {}
        self.metrics: set[str] = set()
        for service in SERVICE_TARGETS.values():
            self.settings[service] = load_yaml(self.read(f"{service}/configuration/base.yaml"))
            main = self.read(f"{service}/src/main.rs")
            self.subcommands[service] = clap_subcommands(main)
            text = self.read(f"{service}/src/metrics.rs")
            prefix = re.search(r'Registry::new_custom\(Some\("([a-z_]+)"', text)
            names = re.findall(
                r'(?:Opts|HistogramOpts|IntGauge|IntCounter|Gauge|Counter)::new\(\s*"([a-z0-9_]+)"',
                text,
            )
            for name in names:
                full = f"{prefix.group(1)}_{name}" if prefix else name
                self.metrics.update({full, f"{full}_bucket", f"{full}_sum", f"{full}_count"})
        # The notify-service has no subcommands: it always serves.
        self.subcommands["notify-service"] = set()
        self.dockerignore = [
            line.strip()
            for line in self.read(".dockerignore").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        self.parse_dockerfile()

    def parse_dockerfile(self) -> None:
        text = self.read("Dockerfile")
        lines, current = [], ""
        for raw in text.splitlines():
            if not current and raw.strip().startswith("#"):
                continue
            if raw.rstrip().endswith("\\"):
                current += raw.rstrip()[:-1] + " "
                continue
            current += raw
            if current.strip():
                lines.append(current.strip())
            current = ""
        args: dict[str, str] = {}
        self.stages: dict[str, dict] = {}
        stage = None
        for line in lines:
            op, _, rest = line.partition(" ")
            op = op.upper()
            if op == "ARG" and stage is None:
                name, _, default = rest.partition("=")
                args[name.strip()] = default.strip()
            elif op == "FROM":
                words = rest.split()
                base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), words[0])
                name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"#{len(self.stages)}"
                parent = self.stages.get(base)
                stage = {
                    "base": base,
                    "copies": [],
                    "expose": set(parent["expose"]) if parent else set(),
                    "user": parent["user"] if parent else None,
                    "healthcheck": parent["healthcheck"] if parent else False,
                    "env": dict(parent["env"]) if parent else {},
                    "bins": set(),
                    "files": dict(parent["files"]) if parent else {},
                }
                self.stages[name] = stage
            elif stage is None:
                continue
            elif op == "COPY":
                words = rest.split()
                source_stage = None
                flags = [w for w in words if w.startswith("--")]
                for flag in flags:
                    if flag.startswith("--from="):
                        source_stage = flag.split("=", 1)[1]
                paths = [w for w in words if not w.startswith("--")]
                stage["copies"].append((source_stage, paths[:-1], paths[-1]))
                for src in paths[:-1]:
                    stage["files"][paths[-1]] = (source_stage, src)
            elif op == "EXPOSE":
                stage["expose"] = {int(p.split("/")[0]) for p in rest.split()}
            elif op == "USER":
                stage["user"] = rest.strip()
            elif op == "HEALTHCHECK":
                stage["healthcheck"] = not rest.strip().upper().startswith("NONE")
            elif op == "ENV":
                for key, value in re.findall(r"(\w+)=(\S+)", rest):
                    stage["env"][key] = value
            elif op == "RUN":
                if "cargo build" in rest:
                    stage["bins"].update(re.findall(r"--bin\s+([\w-]+)", rest))

    def workspace_bins(self) -> set[str]:
        cargo = self.read("Cargo.toml")
        members = re.search(r"members\s*=\s*\[([^\]]*)\]", cargo)
        bins = set()
        for member in re.findall(r'"([^"]+)"', members.group(1) if members else ""):
            manifest = self.read(f"{member}/Cargo.toml")
            bins.update(re.findall(r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"', manifest))
        return bins

    # --- settings -------------------------------------------------------------

    def check_setting(self, service: str, var: str, where: str) -> None:
        if var == "APP_CONFIG_FILE" or not var.startswith("APP_"):
            return
        m = re.fullmatch(r"APP_([A-Z0-9_]+?)__([A-Z0-9_]+)", var)
        if not self.expect(m is not None, where, f"{var} is not APP_<SECTION>__<KEY>"):
            return
        section, key = m.group(1).lower(), m.group(2).lower()
        defaults = self.settings[service]
        self.expect(
            isinstance(defaults.get(section), dict) and key in defaults[section],
            where,
            f"{var}: {service} has no setting {section}.{key} (configuration/base.yaml)",
        )

    def check_settings_layer(self, service: str, rel: str, where: str) -> dict:
        layer = load_yaml(self.read(rel)) or {}
        defaults = self.settings[service]
        for section, values in layer.items():
            for key in (values or {}):
                self.expect(
                    isinstance(defaults.get(section), dict) and key in defaults[section],
                    where,
                    f"{rel}: {service} has no setting {section}.{key}",
                )
        return layer

    # --- Dockerfile -------------------------------------------------------------

    def ignored_by_docker(self, rel: str) -> bool:
        ignored = False
        for pattern in self.dockerignore:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").strip("/")
            hit = fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern + "/*")
            if pattern.startswith("**/"):
                hit = hit or fnmatch.fnmatch(rel, pattern[3:]) or fnmatch.fnmatch(rel, "*/" + pattern[3:])
            if hit:
                ignored = not negate
        return ignored

    def check_dockerfile(self) -> None:
        where = "Dockerfile"
        bins = self.workspace_bins()
        for name, stage in self.stages.items():
            for source_stage, sources, _dest in stage["copies"]:
                for src in sources:
                    if source_stage:
                        self.expect(source_stage in self.stages, where, f"stage {name}: COPY --from={source_stage}: no such stage")
                        built = self.stages.get(source_stage, {}).get("bins", set())
                        m = re.search(r"target/release/([\w-]+)$", src)
                        if m:
                            self.expect(m.group(1) in built, where, f"stage {name}: copies {src}, which stage {source_stage} does not build")
                    elif src != ".":
                        self.expect(self.exists(src), where, f"stage {name}: COPY {src}: no such file")
                        self.expect(not self.ignored_by_docker(src), where, f"stage {name}: COPY {src} is excluded by .dockerignore")
            for binary in stage["bins"]:
                self.expect(binary in bins, where, f"stage {name}: cargo build --bin {binary}: no such binary in the workspace")
        for target in list(SERVICE_TARGETS) + ["keygen"]:
            self.expect(target in self.stages, where, f"no target {target}")
        for target in SERVICE_TARGETS:
            stage = self.stages.get(target)
            if not stage:
                continue
            user = (stage["user"] or "root").split(":")[0]
            self.expect(user not in ("root", "0"), where, f"target {target} runs as root")
            self.expect(stage["healthcheck"], where, f"target {target} has no HEALTHCHECK")
            port = stage["env"].get("APP_APPLICATION__PORT")
            self.expect(
                port is not None and int(port) in stage["expose"],
                where,
                f"target {target}: APP_APPLICATION__PORT {port} is not EXPOSEd ({sorted(stage['expose'])})",
            )
            default_port = self.settings[SERVICE_TARGETS[target]]["application"]["port"]
            self.expect(
                port is not None and int(port) == default_port,
                where,
                f"target {target}: port {port} differs from the service's default {default_port}",
            )
        for rel in ("Cargo.toml", "Cargo.lock"):
            self.expect(not self.ignored_by_docker(rel), ".dockerignore", f"excludes {rel}")

    # --- docker compose ---------------------------------------------------------

    def check_env_example(self, text: str) -> None:
        where = "docker-compose.yml"
        env = {}
        for line in self.read(".env.example").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
        used = set()
        for m in re.finditer(r"(?<!\$)\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", text):
            var, op = m.group(1), m.group(2) or ""
            used.add(var)
            if "?" in op or not op:
                self.expect(var in env, where, f"${{{var}}} is required but not in .env.example")
        for var in env:
            self.expect(var in used, ".env.example", f"{var} is not used by docker-compose.yml")
        self.env_example = env

    def compose_target(self, service: dict) -> str | None:
        build = service.get("build")
        if isinstance(build, dict):
            return build.get("target")
        return None

    def check_compose(self) -> None:
        where = "docker-compose.yml"
        text = self.read("docker-compose.yml")
        self.check_env_example(text)
        compose = load_yaml(text)
        services = compose.get("services", {})
        volumes = set((compose.get("volumes") or {}).keys())
        networks = set((compose.get("networks") or {}).keys())
        self.compose = compose
        aliases: dict[str, str] = {}
        for name, svc in services.items():
            for net in (svc.get("networks") or {}).values() if isinstance(svc.get("networks"), dict) else []:
                for alias in (net or {}).get("aliases", []):
                    aliases[alias] = name

        def port_of(host: str) -> int | None:
            svc_name = host if host in services else aliases.get(host)
            if svc_name is None:
                return None
            svc = services[svc_name]
            target = self.compose_target(svc)
            if target in SERVICE_TARGETS:
                env = svc.get("environment") or {}
                return int(env.get("APP_APPLICATION__PORT") or self.stages[target]["env"]["APP_APPLICATION__PORT"])
            image = (svc.get("image") or "").split("/")[-1].split(":")[0]
            return IMAGE_PORTS.get(image)

        self.compose_port_of = port_of
        image_targets: dict[str, str] = {}
        for name, svc in services.items():
            w = f"{where}: {name}"
            target = self.compose_target(svc)
            self.expect("image" in svc or "build" in svc, w, "neither image nor build")
            if "build" in svc:
                build = svc["build"] if isinstance(svc["build"], dict) else {"context": svc["build"]}
                context = build.get("context", ".")
                self.expect(self.exists(context), w, f"build context {context} does not exist")
                dockerfile = os.path.normpath(os.path.join(context, build.get("dockerfile", "Dockerfile")))
                self.expect(self.exists(dockerfile), w, f"{dockerfile} does not exist")
                self.expect(target in self.stages, w, f"build target {target!r} is not a stage of {dockerfile}")
                if "image" in svc:
                    previous = image_targets.setdefault(svc["image"], target)
                    self.expect(previous == target, w, f"image {svc['image']} is built from targets {previous} and {target}")
            # Volumes.
            for volume in svc.get("volumes") or []:
                if isinstance(volume, str):
                    parts = volume.split(":")
                    source, optional = parts[0], False
                else:
                    source = volume.get("source", "")
                    optional = volume.get("type") == "bind" and (volume.get("bind") or {}).get("create_host_path", False)
                if source.startswith((".", "/")):
                    rel = os.path.normpath(source)
                    self.expect(optional or self.exists(rel), w, f"bind mount source {source} does not exist")
                else:
                    self.expect(source in volumes, w, f"named volume {source} is not declared")
            # Networks.
            nets = svc.get("networks") or {}
            for net in nets if isinstance(nets, (dict, list)) else []:
                self.expect(net in networks, w, f"network {net} is not declared")
            # Dependencies.
            for dep, spec in (svc.get("depends_on") or {}).items():
                if not self.expect(dep in services, w, f"depends_on {dep}: no such service"):
                    continue
                other = services[dep]
                condition = (spec or {}).get("condition", "service_started")
                if condition == "service_healthy":
                    hc = other.get("healthcheck") or {}
                    in_image = self.stages.get(self.compose_target(other) or "", {}).get("healthcheck", False)
                    self.expect(
                        (hc and not hc.get("disable")) or (in_image and not hc.get("disable")),
                        w,
                        f"waits for {dep} to be healthy, which has no health check",
                    )
                if condition == "service_completed_successfully":
                    self.expect(other.get("restart", "no") in ("no", False), w, f"waits for {dep} to complete, which restarts")
            # Settings of our services.
            service_name = SERVICE_TARGETS.get(target or "")
            env = svc.get("environment") or {}
            if isinstance(env, list):
                env = dict(item.split("=", 1) for item in env)
            if service_name:
                for var in env:
                    self.check_setting(service_name, var, w)
                command = svc.get("command")
                if command:
                    first = command[0] if isinstance(command, list) else str(command).split()[0]
                    known = self.subcommands[service_name] | ({"serve"} if service_name == "coupon-service" else set())
                    self.expect(first in known, w, f"command {first!r} is not a {service_name} subcommand")
                mounts = self.mount_targets(svc)
                config_file = env.get("APP_CONFIG_FILE")
                if config_file:
                    source = mounts.get(config_file)
                    if self.expect(source is not None, w, f"APP_CONFIG_FILE {config_file} is not mounted"):
                        if source.startswith("."):
                            self.check_settings_layer(service_name, os.path.normpath(source), w)
                for var in ("APP_AUTH__PUBLIC_KEY_PATH", "APP_AUTH__PRIVATE_KEY_PATH"):
                    if var in env:
                        directory = os.path.dirname(env[var])
                        self.expect(directory in mounts, w, f"{var}: {directory} is not mounted")
            # URLs in the environment name services and their ports.
            for var, value in env.items():
                if isinstance(value, str) and re.match(r"^[a-z][a-z0-9+]*://", value) and "${" not in value.split("@")[-1]:
                    self.check_url(w, var, re.sub(r"\$\{[^}]*\}", "x", value), port_of)

        self.check_gateway(services)
        self.check_gateway_rules(services)
        self.check_observability(services)
        replicas = [n for n, s in services.items() if self.compose_target(s) == "coupon-service" and "profiles" not in s and (s.get("command") in (None, ["serve"]))]
        self.expect(len(replicas) >= 2, where, f"coupon-service runs {len(replicas)} replicas, want 2")
        notifies = [n for n, s in services.items() if self.compose_target(s) == "notify-service"]
        self.expect(len(notifies) >= 2, where, f"notify-service runs {len(notifies)} replicas, want 2")

    def mount_targets(self, svc: dict) -> dict[str, str]:
        """Container path -> source, for every mount (and each file's directory)."""
        mounts = {}
        for volume in svc.get("volumes") or []:
            if isinstance(volume, str):
                parts = volume.split(":")
                source, target = parts[0], parts[1]
            else:
                source, target = volume.get("source", ""), volume.get("target", "")
            mounts[target] = source
        return mounts

    def check_url(self, where: str, var: str, value: str, port_of) -> None:
        url = urlsplit(value)
        host, port = url.hostname, url.port
        known = port_of(host)
        if not self.expect(known is not None, where, f"{var}: host {host!r} is not a service"):
            return
        self.expect(port == known, where, f"{var}: port {port} of {host} should be {known}")

    def check_gateway(self, services: dict) -> None:
        w = "docker-compose.yml: nginx"
        nginx = services.get("nginx")
        if not self.expect(nginx is not None, "docker-compose.yml", "no nginx service"):
            return
        env = nginx.get("environment") or {}
        mounts = self.mount_targets(nginx)
        template_rel = "nginx/gateway.conf.template"
        template = self.read(template_rel)
        placeholders = set(re.findall(r"\$\{(GATEWAY_[A-Z0-9_]+)\}", template))
        template_mounted = [t for t, s in mounts.items() if os.path.normpath(s) == template_rel]
        self.expect(
            any(t.startswith("/etc/nginx/templates/") and t.endswith(".template") for t in template_mounted),
            w,
            f"{template_rel} is not mounted into /etc/nginx/templates/",
        )
        pattern = env.get("NGINX_ENVSUBST_FILTER", "")
        for name in sorted(placeholders):
            self.expect(name in env, w, f"no value for {name} (used by {template_rel})")
            self.expect(re.search(pattern, name) is not None, w, f"NGINX_ENVSUBST_FILTER {pattern!r} does not let {name} through")
        for name in env:
            if name.startswith("GATEWAY_"):
                self.expect(name in placeholders, w, f"{name} is not used by {template_rel}")
        upstreams = {
            "GATEWAY_COUPON_1": "coupon-service", "GATEWAY_COUPON_2": "coupon-service",
            "GATEWAY_NOTIFY_1": "notify-service", "GATEWAY_NOTIFY_2": "notify-service",
        }
        seen = set()
        for var, target in upstreams.items():
            value = str(env.get(var, ""))
            host, _, port = value.rpartition(":")
            svc = services.get(host)
            if not self.expect(svc is not None, w, f"{var}={value}: no service {host!r}"):
                continue
            self.expect(self.compose_target(svc) == target, w, f"{var}={value}: {host} does not run {target}")
            self.expect(port.isdigit() and int(port) == self.compose_port_of(host), w, f"{var}={value}: {host} listens on {self.compose_port_of(host)}")
            seen.add(host)
            self.expect(
                "nginx" not in (svc.get("depends_on") or {}),
                w,
                f"{host} depends on nginx (a cycle)",
            )
            self.expect(
                ((nginx.get("depends_on") or {}).get(host) or {}).get("condition") == "service_healthy",
                w,
                f"does not wait for {host} to be healthy",
            )
        self.expect(len(seen) == 4, w, f"the upstreams are not four distinct instances: {sorted(seen)}")
        for var in ("GATEWAY_TLS_CERT", "GATEWAY_TLS_KEY"):
            directory = os.path.dirname(str(env.get(var, "")))
            self.expect(directory in mounts, w, f"{var}: {directory} is not mounted")
        listen = str(env.get("GATEWAY_LISTEN", "")).rpartition(":")[2]
        published = [str(p).split(":")[-1] for p in nginx.get("ports") or []]
        self.expect(listen in published, w, f"listens on {listen} but publishes {published}")
        # X-Forwarded-For is believed from nginx's fixed address only.
        address = None
        for net_name, net in (nginx.get("networks") or {}).items():
            address = (net or {}).get("ipv4_address")
            subnets = [c.get("subnet") for c in ((self.compose.get("networks") or {}).get(net_name) or {}).get("ipam", {}).get("config", [])]
            if address:
                self.expect(
                    any(ipaddress.ip_address(address) in ipaddress.ip_network(s) for s in subnets if s),
                    w,
                    f"ipv4_address {address} is outside the subnet of {net_name} {subnets}",
                )
        if self.expect(address is not None, w, "has no fixed address (coupon-service must trust it)"):
            for name, svc in services.items():
                if self.compose_target(svc) != "coupon-service" or "profiles" in svc or svc.get("command"):
                    continue
                source = self.mount_targets(svc).get((svc.get("environment") or {}).get("APP_CONFIG_FILE", ""))
                trusted = []
                if source and self.exists(os.path.normpath(source)):
                    layer = load_yaml(self.read(os.path.normpath(source))) or {}
                    trusted = (layer.get("rate_limit") or {}).get("trusted_proxies", [])
                # Entries are addresses or CIDR ranges.
                trusts = any(
                    ipaddress.ip_address(address) in ipaddress.ip_network(str(t).strip(), strict=False)
                    for t in trusted
                    if is_network(str(t).strip())
                )
                self.expect(trusts, f"docker-compose.yml: {name}", f"does not trust nginx ({address}) for X-Forwarded-For: {trusted}")

    def check_gateway_rules(self, services: dict) -> None:
        template_rel = "nginx/gateway.conf.template"
        template = self.read(template_rel)
        for m in re.finditer(r"^\s*proxy_next_upstream\s+([^;]*);", template, re.M):
            words = m.group(1).split()
            self.expect(
                not any(w.startswith("http_") or w == "non_idempotent" for w in words),
                template_rel,
                f"proxy_next_upstream {m.group(1)}: an HTTP status or a sent POST must not move a request to another instance",
            )
        ciphers = re.search(r"^\s*ssl_ciphers\s+([^;]*);", template, re.M)
        if self.expect(ciphers is not None, template_rel, "no ssl_ciphers (nginx's default accepts CBC suites)"):
            for suite in ciphers.group(1).split(":"):
                self.expect(
                    suite.startswith("ECDHE-") and ("-GCM-" in suite or "CHACHA20-POLY1305" in suite),
                    template_rel,
                    f"ssl_ciphers: {suite} is not an ECDHE AEAD suite",
                )
        ws = re.search(r"location = /ws \{(.*?)\n    \}", template, re.S)
        self.expect(
            ws is not None and re.search(r"^\s*limit_conn\s", ws.group(1), re.M) is not None,
            template_rel,
            "/ws has no limit_conn (open WebSockets per client address)",
        )
        events = re.search(r"location ~ \^/api/coupons/events[^{]*\{(.*?)\n    \}", template, re.S)
        if self.expect(events is not None, template_rel, "no location for the public event reads"):
            body = events.group(1)
            self.expect(
                re.search(r"^\s*limit_req\s", body, re.M) is not None,
                template_rel,
                "the public event reads have no limit_req (requests per client address)",
            )
            key = re.search(r"^\s*proxy_cache_key\s+([^;]*);", body, re.M)
            self.expect(
                key is not None and not re.search(r"\$(request_uri|args|query_string|is_args)\b", key.group(1)),
                template_rel,
                f"proxy_cache_key {key and key.group(1)}: a random query parameter would miss the cache",
            )
        # compose replaces the image's main config, whose 1,024 connections
        # per worker would carry ~500 WebSockets: same limits as scripts/dev.
        w = "docker-compose.yml: nginx"
        nginx = services.get("nginx") or {}
        main = self.mount_targets(nginx).get("/etc/nginx/nginx.conf")
        if self.expect(main is not None, w, "does not mount a main nginx.conf (the image's allows 1,024 connections per worker)"):
            main_rel = os.path.normpath(main)
            text = self.read(main_rel)
            local = self.read("nginx/nginx.conf.template")
            for directive in ("worker_connections", "worker_rlimit_nofile"):
                ours = re.search(rf"^\s*{directive}\s+(\d+);", text, re.M)
                want = re.search(rf"^\s*{directive}\s+(\d+);", local, re.M)
                self.expect(
                    ours is not None and want is not None and ours.group(1) == want.group(1),
                    main_rel,
                    f"{directive} {ours and ours.group(1)} differs from nginx/nginx.conf.template ({want and want.group(1)})",
                )
                if directive == "worker_rlimit_nofile" and ours:
                    nofile = ((nginx.get("ulimits") or {}).get("nofile") or {})
                    soft = nofile.get("soft", nofile) if isinstance(nofile, dict) else nofile
                    self.expect(
                        isinstance(soft, int) and soft >= int(ours.group(1)),
                        w,
                        f"ulimits nofile {soft} is below worker_rlimit_nofile {ours.group(1)}",
                    )
            self.expect(
                "include /etc/nginx/conf.d/*.conf;" in text,
                main_rel,
                "does not include /etc/nginx/conf.d/*.conf (the rendered gateway)",
            )
        listen = str((nginx.get("environment") or {}).get("GATEWAY_LISTEN", "")).rpartition(":")[2]
        for name, svc in services.items():
            for port in svc.get("ports") or []:
                published = str(port if not isinstance(port, dict) else f"{port.get('host_ip', '')}:{port.get('published')}:{port.get('target')}")
                parts = published.split(":")
                public = name == "nginx" and parts[-1] == listen
                self.expect(
                    public or (len(parts) == 3 and parts[0] == "127.0.0.1"),
                    f"docker-compose.yml: {name}",
                    f"publishes {published} on every interface; only the gateway may (bind 127.0.0.1:)",
                )

    def check_observability(self, services: dict) -> None:
        w = "deploy/compose/prometheus.yml"
        prometheus = services.get("prometheus") or {}
        mounts = self.mount_targets(prometheus)
        config_rel = os.path.normpath(mounts.get("/etc/prometheus/prometheus.yml", ""))
        self.expect(config_rel == w, "docker-compose.yml: prometheus", f"does not mount {w}")
        config = load_yaml(self.read(w))
        scraped = set()
        for job in config.get("scrape_configs", []):
            for static in job.get("static_configs", []):
                for target in static.get("targets", []):
                    host, _, port = target.rpartition(":")
                    if host in ("127.0.0.1", "localhost"):
                        continue
                    known = self.compose_port_of(host)
                    self.expect(known is not None, w, f"target {target}: no such service")
                    self.expect(known == int(port), w, f"target {target}: {host} listens on {known}")
                    scraped.add(host)
        for name, svc in services.items():
            if self.compose_target(svc) in SERVICE_TARGETS and "profiles" not in svc and not svc.get("command"):
                self.expect(name in scraped, w, f"{name} is not scraped")
        # Grafana.
        grafana = services.get("grafana") or {}
        mounts = self.mount_targets(grafana)
        g = "docker-compose.yml: grafana"
        provisioning = mounts.get("/etc/grafana/provisioning")
        if not self.expect(provisioning is not None, g, "no provisioning mount"):
            return
        provisioning = os.path.normpath(provisioning)
        datasources = load_yaml(self.read(f"{provisioning}/datasources/prometheus.yaml"))
        uids = set()
        for ds in datasources.get("datasources", []):
            url = urlsplit(ds["url"])
            self.expect(self.compose_port_of(url.hostname) == url.port, g, f"data source {ds['url']}: no such service/port")
            uids.add(ds.get("uid"))
        providers = load_yaml(self.read(f"{provisioning}/dashboards/dashboards.yaml"))
        for provider in providers.get("providers", []):
            path = provider["options"]["path"]
            source = mounts.get(path)
            if not self.expect(source is not None, g, f"dashboard path {path} is not mounted"):
                continue
            folder = os.path.normpath(source)
            files = [f for f in os.listdir(self.repo / folder) if f.endswith(".json")]
            self.expect(bool(files), g, f"no dashboards in {folder}")
            for file in files:
                self.check_dashboard(f"{folder}/{file}", uids)
        home = (grafana.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
        if home:
            directory, _, file = home.rpartition("/")
            source = mounts.get(directory)
            self.expect(source is not None and self.exists(f"{os.path.normpath(source)}/{file}"), g, f"home dashboard {home} is not mounted")

    def check_dashboard(self, rel: str, uids: set) -> None:
        dashboard = json.loads(self.read(rel))
        wanted = {
            "issue rate by outcome": r"coupon_issue_outcomes_total",
            "issue latency": r"coupon_http_request_duration_seconds_bucket",
            "remaining stock": r"coupon_event_remaining",
            "outbox lag": r"coupon_outbox_oldest_age_seconds",
            "WebSocket connections": r"notify_ws_connections",
            "fan-out latency": r"notify_fanout_latency_seconds_bucket",
        }
        exprs = []
        for panel in dashboard.get("panels", []):
            if panel.get("type") == "row":
                continue
            self.expect(panel.get("datasource", {}).get("uid") in uids, rel, f"panel {panel.get('title')!r}: unknown data source")
            for target in panel.get("targets", []):
                exprs.append(target.get("expr", ""))
        joined = "\n".join(exprs)
        for what, metric in wanted.items():
            self.expect(re.search(metric, joined) is not None, rel, f"no panel for {what} ({metric})")
        for metric in sorted(set(re.findall(r"\b((?:coupon|notify)_[a-z0-9_]+)", joined))):
            self.expect(metric in self.metrics or metric in PENDING_METRICS, rel, f"metric {metric} is not exported by the services")

    # --- Kubernetes ---------------------------------------------------------------

    def check_k8s(self) -> None:
        base = "deploy/k8s"
        kustomization = load_yaml(self.read(f"{base}/kustomization.yaml"))
        docs = []
        for resource in kustomization.get("resources", []):
            rel = f"{base}/{resource}"
            if self.expect(self.exists(rel), f"{base}/kustomization.yaml", f"resource {resource} does not exist"):
                docs += [(rel, d) for d in self.yaml_docs(rel)]
        external = [(f"{base}/secrets.example.yaml", d) for d in self.yaml_docs(f"{base}/secrets.example.yaml")]
        images = {i["name"] for i in kustomization.get("images", [])}
        by_kind: dict[str, dict[str, tuple[str, dict]]] = {}
        for rel, doc in docs + external:
            kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
            self.expect(doc.get("apiVersion") and kind and name, rel, f"document without apiVersion/kind/metadata.name: {doc}")
            self.expect(kind in K8S_KINDS, rel, f"unexpected kind {kind}")
            self.expect(name not in by_kind.get(kind, {}), rel, f"{kind} {name} defined twice")
            by_kind.setdefault(kind, {})[name] = (rel, doc)
        configmaps = {n: d for n, (_, d) in by_kind.get("ConfigMap", {}).items()}
        secrets = {n: d for n, (_, d) in by_kind.get("Secret", {}).items()}
        for name, (rel, _) in by_kind.get("Secret", {}).items():
            self.expect(rel.endswith("secrets.example.yaml"), rel, f"Secret {name} belongs in secrets.example.yaml, not in the applied manifests")

        def secret_keys(name):
            doc = secrets.get(name) or {}
            return set((doc.get("stringData") or {}).keys()) | set((doc.get("data") or {}).keys())

        workloads = {}
        for kind in ("Deployment", "Job"):
            for name, (rel, doc) in by_kind.get(kind, {}).items():
                workloads[(kind, name)] = (rel, doc)
                self.check_pod(f"{rel}: {kind} {name}", kind, doc, images, configmaps, secrets, secret_keys)
        deployments = {n: d for n, (_, d) in by_kind.get("Deployment", {}).items()}

        def pods_matching(selector: dict) -> list[str]:
            return [
                n for n, d in deployments.items()
                if selector and all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
            ]

        services = {}
        for name, (rel, doc) in by_kind.get("Service", {}).items():
            w = f"{rel}: Service {name}"
            matches = pods_matching(doc["spec"].get("selector") or {})
            self.expect(len(matches) == 1, w, f"selector matches Deployments {matches}")
            ports = {}
            for port in doc["spec"].get("ports", []):
                ports[port.get("name")] = port["port"]
                ports[port["port"]] = port["port"]
                for dep in matches:
                    container_ports = self.container_ports(deployments[dep])
                    self.expect(port.get("targetPort") in container_ports, w, f"targetPort {port.get('targetPort')} is not a port of {dep}")
            services[name] = ports
        for name, (rel, doc) in by_kind.get("Ingress", {}).items():
            w = f"{rel}: Ingress {name}"
            self.expect(doc["spec"].get("ingressClassName"), w, "no ingressClassName")
            tls_hosts = {h for t in doc["spec"].get("tls", []) for h in t.get("hosts", [])}
            for rule in doc["spec"].get("rules", []):
                self.expect(rule.get("host") in tls_hosts, w, f"host {rule.get('host')} has no TLS")
                for path in rule["http"]["paths"]:
                    svc = path["backend"]["service"]
                    port = svc["port"].get("name") or svc["port"].get("number")
                    if self.expect(svc["name"] in services, w, f"backend {svc['name']}: no such Service"):
                        self.expect(port in services[svc["name"]], w, f"backend {svc['name']}: no port {port}")
        ingress_paths = {
            p["path"]: (d["metadata"]["name"], d["metadata"].get("annotations") or {})
            for _, (_, d) in by_kind.get("Ingress", {}).items()
            for r in d["spec"]["rules"] for p in r["http"]["paths"]
        }
        ws = ingress_paths.get("/ws")
        if self.expect(ws is not None, f"{base}/ingress.yaml", "no Ingress for /ws"):
            timeout = int(ws[1].get("nginx.ingress.kubernetes.io/proxy-read-timeout", "60"))
            self.expect(timeout >= 3600, f"{base}/ingress.yaml", f"/ws read timeout {timeout}s is short for WebSockets")
            self.expect("nginx.ingress.kubernetes.io/limit-connections" in ws[1], f"{base}/ingress.yaml", "/ws has no limit-connections (open WebSockets per client address)")
        for path, (name, annotations) in ingress_paths.items():
            retry = annotations.get("nginx.ingress.kubernetes.io/proxy-next-upstream", "")
            self.expect(
                not any(w.startswith("http_") or w == "non_idempotent" for w in retry.split()),
                f"{base}/ingress.yaml: Ingress {name}",
                f"proxy-next-upstream {retry!r}: an HTTP status or a sent POST must not move a request to another pod",
            )
        events = ingress_paths.get("/api/coupons/events")
        if self.expect(events is not None, f"{base}/ingress.yaml", "no rate-limited Ingress for /api/coupons/events"):
            self.expect("nginx.ingress.kubernetes.io/limit-rps" in events[1], f"{base}/ingress.yaml", "/api/coupons/events is not rate limited")
        issue = ingress_paths.get("/api/coupons/issue")
        if self.expect(issue is not None, f"{base}/ingress.yaml", "no rate-limited Ingress for /api/coupons/issue"):
            self.expect("nginx.ingress.kubernetes.io/limit-rps" in issue[1], f"{base}/ingress.yaml", "/api/coupons/issue is not rate limited")
            self.expect("non_idempotent" not in issue[1].get("nginx.ingress.kubernetes.io/proxy-next-upstream", ""), f"{base}/ingress.yaml", "POSTs would be retried")
        for name, (rel, doc) in by_kind.get("HorizontalPodAutoscaler", {}).items():
            w = f"{rel}: HorizontalPodAutoscaler {name}"
            ref = doc["spec"]["scaleTargetRef"]
            if not self.expect(ref.get("kind") == "Deployment" and ref.get("name") in deployments, w, f"scales {ref}: no such Deployment"):
                continue
            self.expect(doc["spec"].get("minReplicas", 1) >= 2, w, "minReplicas below 2")
            self.expect(doc["spec"]["maxReplicas"] >= doc["spec"].get("minReplicas", 1), w, "maxReplicas < minReplicas")
            for metric in doc["spec"].get("metrics", []):
                resource = (metric.get("resource") or {}).get("name")
                for c in deployments[ref["name"]]["spec"]["template"]["spec"]["containers"]:
                    self.expect(resource in ((c.get("resources") or {}).get("requests") or {}), w, f"scales on {resource}, which {c['name']} does not request")
        for dep in deployments:
            self.expect(
                any(d["spec"]["scaleTargetRef"]["name"] == dep for _, (_, d) in by_kind.get("HorizontalPodAutoscaler", {}).items()),
                f"{base}", f"Deployment {dep} has no HorizontalPodAutoscaler",
            )
            self.expect(
                any(pods_matching(d["spec"]["selector"]["matchLabels"]) == [dep] for _, (_, d) in by_kind.get("PodDisruptionBudget", {}).items()),
                f"{base}", f"Deployment {dep} has no PodDisruptionBudget",
            )
        for name, (rel, doc) in by_kind.get("PodDisruptionBudget", {}).items():
            matches = pods_matching(doc["spec"]["selector"]["matchLabels"])
            self.expect(len(matches) == 1, f"{rel}: PodDisruptionBudget {name}", f"selector matches {matches}")
        jobs = by_kind.get("Job", {})
        self.expect(
            any(c.get("args", [None])[0] == "migrate" for _, (_, d) in jobs.items() for c in d["spec"]["template"]["spec"]["containers"]),
            f"{base}", "no migration Job (coupon-service migrate)",
        )

    def container_ports(self, deployment: dict) -> set:
        ports = set()
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            for p in c.get("ports", []):
                ports.add(p["containerPort"])
                if p.get("name"):
                    ports.add(p["name"])
        return ports

    def check_pod(self, w, kind, doc, images, configmaps, secrets, secret_keys) -> None:
        spec = doc["spec"]
        template = spec["template"]
        pod = template["spec"]
        if kind == "Deployment":
            labels = template["metadata"].get("labels") or {}
            selector = spec["selector"]["matchLabels"]
            self.expect(all(labels.get(k) == v for k, v in selector.items()), w, f"selector {selector} does not match the pod labels {labels}")
        security = pod.get("securityContext") or {}
        self.expect(security.get("runAsNonRoot") is True, w, "pods may run as root")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            cw = f"{w} container {c['name']}"
            image = c["image"].split(":")[0]
            self.expect(image in images, cw, f"image {image} is not in kustomization images")
            target = image.split("/")[-1]
            service = SERVICE_TARGETS.get(target)
            if not self.expect(service is not None and target in self.stages, cw, f"image {image} is not built by a Dockerfile target"):
                continue
            uid = str(security.get("runAsUser", ""))
            image_user = (self.stages[target]["user"] or "").split(":")[0]
            self.expect(uid == image_user, cw, f"runAsUser {uid} differs from the image's USER {image_user}")
            args = c.get("args") or []
            if args:
                known = self.subcommands[service] | ({"serve"} if service == "coupon-service" else set())
                self.expect(args[0] in known, cw, f"args {args}: not a {service} subcommand")
            env = {}
            for ref in c.get("envFrom", []):
                name = (ref.get("configMapRef") or {}).get("name")
                if self.expect(name in configmaps, cw, f"envFrom ConfigMap {name}: not defined"):
                    for key, value in (configmaps[name].get("data") or {}).items():
                        if re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                            env[key] = value
            for item in c.get("env", []):
                env[item["name"]] = item.get("value")
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    if self.expect(ref["name"] in secrets, cw, f"{item['name']}: Secret {ref['name']} is not defined (secrets.example.yaml)"):
                        self.expect(ref["key"] in secret_keys(ref["name"]), cw, f"{item['name']}: Secret {ref['name']} has no key {ref['key']}")
                ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
                if ref:
                    self.expect(ref["key"] in (configmaps.get(ref["name"], {}).get("data") or {}), cw, f"{item['name']}: no ConfigMap key {ref}")
            for var in env:
                self.check_setting(service, var, cw)
            # Mounted files: every path a setting names is in a mounted volume item.
            files = {}
            for mount in c.get("volumeMounts", []):
                volume = volumes.get(mount["name"])
                if not self.expect(volume is not None, cw, f"volumeMount {mount['name']}: no such volume"):
                    continue
                if "secret" in volume:
                    name = volume["secret"]["secretName"]
                    self.expect(name in secrets, cw, f"volume {mount['name']}: Secret {name} is not defined")
                    keys = secret_keys(name)
                    items = volume["secret"].get("items") or [{"key": k, "path": k} for k in keys]
                elif "configMap" in volume:
                    name = volume["configMap"]["name"]
                    self.expect(name in configmaps, cw, f"volume {mount['name']}: ConfigMap {name} is not defined")
                    keys = set((configmaps.get(name, {}).get("data") or {}).keys())
                    items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in keys]
                else:
                    continue
                for it in items:
                    self.expect(it["key"] in keys, cw, f"volume {mount['name']}: no key {it['key']} in {name}")
                    files[f"{mount['mountPath'].rstrip('/')}/{it['path']}"] = (volume, it["key"])
            for var in ("APP_AUTH__PUBLIC_KEY_PATH", "APP_AUTH__PRIVATE_KEY_PATH", "APP_CONFIG_FILE"):
                path = env.get(var)
                if path is None:
                    continue
                if var == "APP_AUTH__PRIVATE_KEY_PATH" and kind == "Job":
                    continue
                if self.expect(path in files, cw, f"{var}={path} is not a mounted file ({sorted(files)})") and var == "APP_CONFIG_FILE":
                    volume, key = files[path]
                    data = configmaps[volume["configMap"]["name"]]["data"][key]
                    self.check_settings_layer_text(service, data, cw)
            if kind == "Job":
                continue
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            app_port = env.get("APP_APPLICATION__PORT")
            self.expect(app_port is not None and int(app_port) in ports.values(), cw, f"APP_APPLICATION__PORT {app_port} is not a containerPort {sorted(ports.values())}")
            self.expect(int(app_port or 0) in self.stages[target]["expose"], cw, f"port {app_port} is not EXPOSEd by the image")
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                p = c.get(probe)
                if not self.expect(p is not None, cw, f"no {probe}"):
                    continue
                get = p.get("httpGet") or {}
                self.expect(get.get("path") == path, cw, f"{probe} should GET {path}, not {get.get('path')}")
                port = get.get("port")
                self.expect(port in ports or port in ports.values(), cw, f"{probe} port {port} is not a container port")
            requests = (c.get("resources") or {}).get("requests") or {}
            self.expect("cpu" in requests and "memory" in requests, cw, "no cpu/memory requests")
            self.expect(((c.get("resources") or {}).get("limits") or {}).get("memory"), cw, "no memory limit")

    def check_settings_layer_text(self, service: str, text: str, where: str) -> None:
        layer = load_yaml(text) or {}
        defaults = self.settings[service]
        for section, values in layer.items():
            for key in values or {}:
                self.expect(isinstance(defaults.get(section), dict) and key in defaults[section], where, f"settings layer: no setting {section}.{key}")

    # --- all --------------------------------------------------------------------------

    def run(self) -> list[str]:
        try:
            self.load_sources()
            self.check_dockerfile()
            self.check_compose()
            self.check_k8s()
        except (KeyError, TypeError, ValueError, AttributeError, FileNotFoundError, yaml.YAMLError) as e:
            self.errors.append(f"could not check the files: {type(e).__name__}: {e}")
        return self.errors


def self_test(repo: Path) -> int:
    """Each break must be reported; the unbroken files must pass."""
    def text(rel):
        return (repo / rel).read_text()

    def sub(rel, old, new):
        content = text(rel)
        assert old in content, f"self-test: {old!r} not in {rel}"
        return {rel: content.replace(old, new, 1)}

    compose, k8s_coupon = "docker-compose.yml", "deploy/k8s/coupon-service.yaml"
    breaks = {
        "upstream port": sub(compose, "GATEWAY_COUPON_2: coupon-service-2:8081", "GATEWAY_COUPON_2: coupon-service-2:9999"),
        "upstream host": sub(compose, "GATEWAY_NOTIFY_1: notify-service-1:8082", "GATEWAY_NOTIFY_1: notify-svc-1:8082"),
        "missing placeholder": sub(compose, "      GATEWAY_ISSUE_BURST:", "      GATEWAY_ISSUE_BURSTS:"),
        "build target": sub(compose, "target: notify-service", "target: notify"),
        "bind mount": sub(compose, "./deploy/compose/prometheus.yml:", "./deploy/compose/prometheus.yaml:"),
        "setting typo": sub(compose, "APP_COUPON_API__URL:", "APP_COUPON_API__URI:"),
        "env example": sub(compose, "${GRAFANA_ADMIN_PASSWORD:?", "${GRAFANA_PASSWORD:?"),
        "url port": sub(compose, "@postgres:5432/coupons", "@postgres:5433/coupons"),
        "trusted proxy": sub(compose, "ipv4_address: 172.28.250.10", "ipv4_address: 172.28.250.11"),
        "scrape target": sub("deploy/compose/prometheus.yml", '"notify-service-2:8082"', '"notify-service-2:8081"'),
        "dashboard metric": sub("deploy/compose/grafana/dashboards/coupon-platform.json", "notify_ws_connections)", "notify_ws_conections)"),
        "dockerfile copy": sub("Dockerfile", "deploy/docker/healthcheck.sh", "deploy/docker/health.sh"),
        "k8s service port": sub(k8s_coupon, "      targetPort: http", "      targetPort: web"),
        "k8s selector": sub(k8s_coupon, "  selector:\n    app.kubernetes.io/name: coupon-service", "  selector:\n    app.kubernetes.io/name: coupon"),
        "k8s secret key": sub(k8s_coupon, "key: redis-url", "key: redis"),
        "k8s probe": sub(k8s_coupon, "path: /readyz", "path: /ready"),
        "k8s hpa": sub(k8s_coupon, "    kind: Deployment\n    name: coupon-service", "    kind: Deployment\n    name: coupons"),
        "k8s ingress": sub("deploy/k8s/ingress.yaml", "name: notify-service", "name: notify"),
        "k8s config path": sub(k8s_coupon, "path: settings.yaml", "path: settings.yml"),
        "k8s port": sub("deploy/k8s/config.yaml", 'APP_APPLICATION__PORT: "8082"', 'APP_APPLICATION__PORT: "8083"'),
        "nginx retries a 503": sub("nginx/gateway.conf.template", "proxy_next_upstream error timeout;", "proxy_next_upstream error timeout http_503;"),
        "nginx CBC suite": sub("nginx/gateway.conf.template", "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:", "ssl_ciphers ECDHE-ECDSA-AES128-SHA:"),
        "nginx /ws unlimited": sub("nginx/gateway.conf.template", "        limit_conn ws_per_ip", "        # limit_conn ws_per_ip"),
        "nginx event reads unlimited": sub("nginx/gateway.conf.template", "        limit_req zone=events_per_ip", "        # limit_req zone=events_per_ip"),
        "nginx raw cache key": sub("nginx/gateway.conf.template", "proxy_cache_key $request_method$uri$events_upstream_query;", "proxy_cache_key $request_method$request_uri;"),
        "compose worker connections": sub("deploy/compose/nginx.conf", "worker_connections 65536;", "worker_connections 1024;"),
        "compose nofile": sub(compose, "soft: 131072", "soft: 1024"),
        "published port": sub(compose, '"127.0.0.1:9090:9090"', '"9090:9090"'),
        "k8s retries a 503": sub("deploy/k8s/ingress.yaml", "proxy-next-upstream: error timeout\n", "proxy-next-upstream: error timeout http_503\n"),
        "k8s /ws unlimited": sub("deploy/k8s/ingress.yaml", "nginx.ingress.kubernetes.io/limit-connections:", "nginx.ingress.kubernetes.io/limit-conn:"),
        "k8s event reads unlimited": sub("deploy/k8s/ingress.yaml", '    nginx.ingress.kubernetes.io/limit-rps: "10"', '    nginx.ingress.kubernetes.io/limit-rpm: "600"'),
    }
    baseline = Checker(repo).run()
    failures = 0
    if baseline:
        print("self-test: the unbroken files do not pass:")
        for e in baseline:
            print(f"  {e}")
        return 1
    for what, override in breaks.items():
        errors = Checker(repo, override).run()
        if errors:
            print(f"  self-test: {what}: caught ({errors[0]})")
        else:
            failures += 1
            print(f"  self-test: {what}: NOT caught")
    print(f"self-test: {len(breaks) - failures} of {len(breaks)} breaks caught")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--self-test", action="store_true")
    options = parser.parse_args()
    if options.self_test:
        return self_test(options.repo)
    checker = Checker(options.repo)
    errors = checker.run()
    for error in errors:
        print(f"error: {error}")
    if errors:
        print(f"deploy check: {len(errors)} problem(s)")
        return 1
    print(f"  deploy check: {checker.checks} checks passed (compose, Dockerfile, nginx template, Prometheus, Grafana, deploy/k8s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
