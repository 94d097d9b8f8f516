#!/usr/bin/env bash
# Sanquan developer entry point. Run `./dev.sh help` for the commands.
#
# Works on a fresh Debian/Ubuntu machine: installs the Debian packages it needs (only those
# missing; sudo when not root), makes .venv with `pip install -e '.[dev]'`, and prepares the
# database. Environment knobs:
#   HOST, PORT              serve: where `flask run` listens (default 127.0.0.1:5000)
#   DATABASE_URL            serve/setup: use this database instead of the embedded SpatiaLite file
#   PYTHON                  interpreter for a new .venv (default: python3, must be >= 3.11)
#   SANQUAN_TEST_ONLY       test: sqlite | postgresql, run one backend only
#   SANQUAN_TEST_WORKERS    test: parallel pytest workers (default auto: one per CPU; 0: none)
#   SANQUAN_TEST_PG_URL     test: a PostgreSQL server where the tests may CREATE DATABASE
#                           (default: the local server on 127.0.0.1:5432, else a throwaway cluster)
#   SANQUAN_PG_THROWAWAY=1  test: always use a throwaway cluster, even if a server runs on 5432
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
ROOT=$PWD
VENV=$ROOT/.venv
STAMP=$VENV/.installed
DEFAULT_PG_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

export PIP_DISABLE_PIP_VERSION_CHECK=1
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> %s\n' "$*"; }
warn() { printf 'dev.sh: %s\n' "$*" >&2; }
die() {
  printf 'dev.sh: %s\n' "$*" >&2
  exit 1
}

# --- Debian packages ---------------------------------------------------------------------------

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

APT_UPDATED=0

have_deb() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# ensure_debs PKG...: install those of PKG that are missing (apt-get update once per run).
ensure_debs() {
  local missing=() p
  for p in "$@"; do
    have_deb "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: install them by hand"
  if [ ${#SUDO[@]} -gt 0 ] && ! command -v sudo >/dev/null; then
    die "missing packages ${missing[*]}: run as root or install sudo"
  fi
  say "installing Debian packages: ${missing[*]}"
  local log
  log=$(mktemp)
  if [ "$APT_UPDATED" = 0 ]; then
    "${SUDO[@]}" apt-get update -qq </dev/null >"$log" 2>&1 || {
      cat "$log" >&2
      rm -f "$log"
      die "apt-get update failed"
    }
    APT_UPDATED=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null >"$log" 2>&1 || {
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install ${missing[*]} failed"
  }
  rm -f "$log"
}

# SpatiaLite and GDAL; Pango (with HarfBuzz's subsetter) for WeasyPrint's PDFs, and the Noto CJK
# fonts they are set in (app/core/pdf.py).
BASE_DEBS=(libsqlite3-mod-spatialite gdal-bin
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
# Chromium for tests/browser (Playwright drives it); the CJK fonts (in BASE_DEBS) lay pages out,
# and make screenshots read, with real Chinese glyphs.
BROWSER_DEBS=(chromium chromium-driver)

# Highest PostgreSQL major version whose server binaries are installed (empty if none).
pg_installed_major() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$d" ] || continue
    d=${d#/usr/lib/postgresql/}
    d=${d%%/*}
    if [ -z "$best" ] || [ "$d" -gt "$best" ]; then best=$d; fi
  done
  printf '%s' "$best"
}

# Major version of the server behind a libpq-style URL (empty if it cannot be asked).
pg_server_major() {
  local num
  command -v psql >/dev/null || return 0
  num=$(psql "$(libpq_url "$1")" -XAtqc 'show server_version_num' 2>/dev/null </dev/null) || return 0
  if [[ $num =~ ^[0-9]+$ ]]; then printf '%s' $((num / 10000)); fi
}

# An SQLAlchemy URL (postgresql+psycopg://...) as libpq/psql understands it.
libpq_url() { sed -E 's#^postgres(ql)?(\+[A-Za-z0-9_]+)?://#postgresql://#' <<<"$1"; }

# The PostGIS package for a PostgreSQL major version (3 on current Debian/Ubuntu).
ensure_postgis() {
  local major=$1
  [ -n "$major" ] || return 0
  ensure_debs "postgresql-$major-postgis-3"
}

# --- Python environment ------------------------------------------------------------------------

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }

ensure_venv() {
  if [ -x "$VENV/bin/python" ] && ! py_ok "$VENV/bin/python"; then
    die ".venv has $("$VENV/bin/python" --version 2>&1); Sanquan needs Python >= 3.11. Remove .venv and rerun with PYTHON=python3.11 (or newer)."
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    local py=${PYTHON:-python3}
    command -v "$py" >/dev/null || die "no $py found; install Python >= 3.11 (Debian 12: apt-get install python3 python3-venv)"
    if ! py_ok "$py"; then
      die "$py is $("$py" --version 2>&1); Sanquan needs Python >= 3.11. Install a newer one and rerun with PYTHON=/path/to/python3.11"
    fi
    # Debian's own python3 ships venv/ensurepip separately.
    if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
      local v
      v=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      ensure_debs "python$v-venv"
    fi
    say "creating .venv with $("$py" --version 2>&1)"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
  fi
  if [ -f "$STAMP" ] && [ ! pyproject.toml -nt "$STAMP" ] && "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("sanquan")' 2>/dev/null; then
    :
  else
    say "installing Python packages (pip install -e '.[dev]')"
    "$VENV/bin/python" -m pip install -qq -e '.[dev]' </dev/null
    touch "$STAMP"
  fi
  export VIRTUAL_ENV=$VENV
  export PATH="$VENV/bin:$PATH"
}

# --- app preparation ---------------------------------------------------------------------------

compile_catalogs() {
  if [ -f scripts/i18n ]; then
    say "compiling message catalogs (scripts/i18n compile)"
    if [ -x scripts/i18n ]; then
      scripts/i18n compile
    elif head -n1 scripts/i18n | grep -q python; then
      python scripts/i18n compile
    else
      bash scripts/i18n compile
    fi
  elif [ -d app/translations ] && find app/translations -name '*.po' -print -quit | grep -q .; then
    say "compiling message catalogs (pybabel)"
    pybabel -q compile -d app/translations
  fi
}

flask_app() { flask --app app "$@"; }

db_upgrade() {
  if [ -n "${DATABASE_URL:-}" ]; then
    say "migrating the database at DATABASE_URL"
  else
    say "migrating the embedded database (instance/sanquan.sqlite)"
  fi
  flask_app db upgrade
}

cmd_setup() {
  ensure_debs "${BASE_DEBS[@]}"
  ensure_venv
  compile_catalogs
  db_upgrade
}

cmd_serve() {
  cmd_setup
  if flask_app demo seed --help >/dev/null 2>&1; then
    say "seeding the demo county (flask demo seed)"
    flask_app demo seed
  else
    warn "no 'flask demo seed' command yet: skipping the demo seed"
  fi
  local host=${HOST:-127.0.0.1} port=${PORT:-5000}
  say "serving on http://$host:$port/ (Ctrl-C to stop)"
  exec flask --app app run --host "$host" --port "$port"
}

cmd_lint() {
  ensure_venv
  local rc=0
  say "ruff check ."
  ruff check . || rc=1
  say "ruff format --check ."
  ruff format --check . || rc=1
  # The layering and the import contracts of pyproject.toml ([tool.importlinter]).
  say "lint-imports"
  lint-imports || rc=1
  say "mypy app/core app/geo app/registry"
  mypy app/core app/geo app/registry || rc=1
  return $rc
}

# --- PostgreSQL for the tests ------------------------------------------------------------------

PG_TMP=""
PG_BIN=""
PG_RUN=()

stop_throwaway() {
  [ -n "$PG_TMP" ] || return 0
  if [ -f "$PG_TMP/data/postmaster.pid" ]; then
    say "stopping the throwaway PostgreSQL cluster"
    (cd "$PG_TMP" && "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w -t 60 stop \
      >/dev/null 2>&1) ||
      (cd "$PG_TMP" && "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop \
        >/dev/null 2>&1) || true
  fi
  rm -rf "$PG_TMP"
  PG_TMP=""
}

free_port() {
  python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start a private cluster in a temporary folder; sets SANQUAN_TEST_PG_URL. Removed on exit.
start_throwaway() {
  local major
  major=$(pg_installed_major)
  if [ -z "$major" ]; then
    ensure_debs postgresql
    major=$(pg_installed_major)
    [ -n "$major" ] || die "installed 'postgresql' but found no /usr/lib/postgresql/*/bin/initdb"
  fi
  ensure_postgis "$major"
  PG_BIN=/usr/lib/postgresql/$major/bin

  # initdb refuses to run as root: run the cluster as the postgres user (or nobody).
  local owner=""
  if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
    PG_RUN=(runuser -u "$owner" --)
  else
    PG_RUN=()
  fi

  PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sanquan-pg.XXXXXX")
  trap stop_throwaway EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ -n "$owner" ] && chown "$owner" "$PG_TMP"
  chmod 700 "$PG_TMP"

  local port locale=C
  port=$(free_port)
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
  say "starting a throwaway PostgreSQL $major cluster in $PG_TMP on 127.0.0.1:$port"
  (cd "$PG_TMP" && "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres \
    -E UTF8 --locale="$locale" --no-sync >"$PG_TMP/initdb.log" 2>&1) ||
    {
      cat "$PG_TMP/initdb.log" >&2
      die "initdb failed"
    }
  # Durability settings off: the cluster is deleted afterwards, and this makes the suite faster.
  (cd "$PG_TMP" && "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
    -w -t 60 -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off \
    -c synchronous_commit=off -c full_page_writes=off" start >/dev/null) ||
    {
      cat "$PG_TMP/server.log" >&2
      die "the throwaway PostgreSQL cluster did not start"
    }
  export SANQUAN_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}

# Choose the server for the PostgreSQL run: given URL, local server, or a throwaway cluster.
prepare_postgres() {
  if [ "${SANQUAN_PG_THROWAWAY:-0}" = 1 ]; then
    start_throwaway
    return
  fi
  if [ -n "${SANQUAN_TEST_PG_URL:-}" ]; then
    say "using PostgreSQL at SANQUAN_TEST_PG_URL"
    ensure_postgis "$(pg_server_major "$SANQUAN_TEST_PG_URL")"
    return
  fi
  local probe
  probe=$(libpq_url "$DEFAULT_PG_URL")
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 &&
    psql "$probe" -XAtqc 'select 1' >/dev/null 2>&1 </dev/null; then
    local major
    major=$(pg_server_major "$probe")
    say "using the local PostgreSQL ${major:+$major }server on 127.0.0.1:5432"
    ensure_postgis "$major"
    export SANQUAN_TEST_PG_URL=$DEFAULT_PG_URL
  else
    say "no usable PostgreSQL server on 127.0.0.1:5432 (user postgres, trust)"
    start_throwaway
  fi
}

# --- tests -------------------------------------------------------------------------------------

header() {
  local line="========================================================================"
  printf '\n%s\n  %s\n%s\n' "$line" "$*" "$line"
}

# The RQ job tests need a Redis server on 127.0.0.1:6379: use the running one, else start one
# that keeps nothing on disk (installed from Debian's packages when missing).
ensure_redis() {
  if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    return 0
  fi
  ensure_debs redis-server
  say "starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  local _i
  for _i in $(seq 1 20); do
    redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.5
  done
  die "Redis did not start on 127.0.0.1:6379"
}

cmd_test() {
  local backends=()
  case "${SANQUAN_TEST_ONLY:-}" in
    "") backends=(sqlite postgresql) ;;
    sqlite | postgresql) backends=("$SANQUAN_TEST_ONLY") ;;
    *) die "SANQUAN_TEST_ONLY must be sqlite or postgresql, not '$SANQUAN_TEST_ONLY'" ;;
  esac

  cmd_setup
  ensure_debs "${BROWSER_DEBS[@]}"
  ensure_redis

  local b rc overall=0 summary=()
  for b in "${backends[@]}"; do
    if [ "$b" = postgresql ]; then
      prepare_postgres
    fi
    header "pytest on $b (SANQUAN_TEST_DB=$b)"
    rc=0
    SANQUAN_TEST_DB=$b python -m pytest -n "${SANQUAN_TEST_WORKERS:-auto}" "$@" </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
      summary+=("$b: passed")
    else
      summary+=("$b: FAILED (pytest exit $rc)")
      # Keep the first failure's code, so a caller can tell 'no tests ran' (5) from failures.
      [ "$overall" -ne 0 ] || overall=$rc
    fi
  done
  stop_throwaway

  header "summary"
  printf '  %s\n' "${summary[@]}"
  return "$overall"
}

cmd_help() {
  cat <<'EOF'
Usage: ./dev.sh COMMAND [ARGS]

  serve            install what is missing, migrate, seed the demo county, and run the app
                   on http://127.0.0.1:5000/ (HOST, PORT, DATABASE_URL are respected)
  setup            install Debian and Python packages, compile catalogs, migrate (no seed, no run)
  test [ARGS]      setup, then the full pytest suite on SpatiaLite and then on PostGIS;
                   ARGS go to pytest. SANQUAN_TEST_ONLY=sqlite|postgresql runs one backend;
                   SANQUAN_TEST_PG_URL picks the PostgreSQL server (default: local 127.0.0.1:5432,
                   else a throwaway cluster; SANQUAN_PG_THROWAWAY=1 forces the throwaway cluster)
  lint             ruff check ., ruff format --check ., lint-imports (the import contracts) and
                   mypy app/core app/geo app/registry
  help             this text
EOF
}

main() {
  local cmd=${1:-help}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    serve) cmd_serve "$@" ;;
    setup) cmd_setup "$@" ;;
    test) cmd_test "$@" ;;
    lint) cmd_lint "$@" ;;
    help | -h | --help) cmd_help ;;
    *)
      cmd_help >&2
      die "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
