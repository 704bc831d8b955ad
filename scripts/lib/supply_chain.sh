# shellcheck shell=bash
#
# The supply chain, checked by `scripts/dev test`: known vulnerabilities in
# the Rust dependencies (cargo audit, against a RustSec advisory database
# on disk: the machines cannot fetch it) and in the npm workspace (npm
# audit, where the registry answers). Sourced by scripts/dev.

# The advisory database: $ADVISORY_DB, else the snapshot beside the
# checkout (../shared/advisory-db), else the machines' shared copy.
advisory_db() {
  local candidate
  for candidate in "${ADVISORY_DB:-}" "$REPO_ROOT/../shared/advisory-db" /work/shared/advisory-db; do
    if [[ -n "$candidate" && -d "$candidate/crates" ]]; then
      printf '%s' "$candidate"
      return 0
    fi
  done
}

# Installs cargo-audit when missing (a few minutes of compiling, once per
# machine).
ensure_cargo_audit() {
  cargo audit --version >/dev/null 2>&1 && return 0
  log "installing cargo-audit (cargo install --locked)"
  cargo install cargo-audit --locked --quiet
}

check_supply_chain() {
  local db
  db=$(advisory_db)
  if [[ -z "$db" ]]; then
    warn "cargo audit skipped: no advisory database (set ADVISORY_DB to a RustSec advisory-db checkout)"
  else
    ensure_cargo_audit
    # Any vulnerability fails; unmaintained or yanked crates are reported.
    cargo audit --db "$db" --no-fetch --stale
  fi
  if [[ -f "$REPO_ROOT/package-lock.json" ]]; then
    # The registry's audit endpoint may be out of reach: that is said, not
    # failed; an answer with a high or critical advisory fails.
    local out status=0
    out=$(cd "$REPO_ROOT" && npm audit --audit-level=high 2>&1) || status=$?
    if [[ $status -ne 0 ]] && grep -qiE 'audit endpoint|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network' <<<"$out"; then
      warn "npm audit skipped: the registry's audit endpoint did not answer"
    elif [[ $status -ne 0 ]]; then
      printf '%s\n' "$out" >&2
      die "npm audit: high or critical advisories in the npm workspace"
    else
      printf '%s\n' "$out" | tail -n 3
    fi
  fi
}
