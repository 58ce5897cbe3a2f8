"""The fault run's driver; bench/faults.sh starts PostgreSQL and Redis and runs this.

Standard library only: a few lines of RESP for Redis, psql for PostgreSQL, urllib for HTTP.
Every address is 127.0.0.1; every loop is bounded in count and time.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

TMP = os.environ["FAULTS_TMP"]
BIN = os.environ["FAULTS_BIN"]
ROOT = os.environ["FAULTS_ROOT"]
N = int(os.environ["FAULTS_N"])
PG_PORT = int(os.environ["FAULTS_PG_PORT"])
REDIS_PORT = int(os.environ["FAULTS_REDIS_PORT"])
PSQL = os.environ["FAULTS_PSQL"]
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
DEADLINE = time.monotonic() + 600
WORKERS = 3
TIMEOUT_SECONDS = 5


def log(message):
    print(f"[faults] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


API_PORT, SANDBOX_PORT = free_port(), free_port()
WORKER_PORTS = [free_port() for _ in range(WORKERS)]
API = f"http://127.0.0.1:{API_PORT}"
SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"

ENV = dict(
    os.environ,
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    MIGRATIONS_DIR=f"{ROOT}/migrations",
    # The fault run exercises the API and the send path, not the admin UI: no web/vendor needed.
    WEB_UI="off",
    PORT=str(API_PORT),
    PUBLIC_BASE_URL=API,
    TWILIO_ACCOUNT_SID="AC00000000000000000000000000000000",
    TWILIO_AUTH_TOKEN="faults-token",
    TWILIO_API_BASE=SANDBOX,
    TWILIO_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
    SEND_LEASE_SECONDS="10",
    SEND_RECONCILE_AFTER_SECONDS="10",
    SEND_STATUS_RECONCILE_AFTER_SECONDS="20",
    WORKER_CONCURRENCY="4",
    WORKER_SHUTDOWN_TIMEOUT_SECONDS="10",
    RATE_LIMIT_PER_MINUTE_KEY="0",
    RATE_LIMIT_PER_MINUTE_IP="0",
    LOG_FORMAT="json",
    LOG_LEVEL="notice",
    SANDBOX_PORT=str(SANDBOX_PORT),
    SANDBOX_RATE_429="0.05",
    SANDBOX_RATE_500="0.02",
    SANDBOX_HANG_RATE="0.01",
    SANDBOX_HANG_SECONDS=str(TIMEOUT_SECONDS + 7),
    SANDBOX_MAGIC_NUMBERS="false",
)


# --- PostgreSQL, Redis, HTTP -------------------------------------------------------------------


def sql(query):
    out = subprocess.run([PSQL, DATABASE_URL, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", query], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return out.stdout.strip()


def redis(*args):
    """One command over a fresh connection; None when Redis does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as s:
            parts = [f"*{len(args)}\r\n".encode()]
            for a in args:
                b = str(a).encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
            s.sendall(b"".join(parts))
            return _read_reply(s.makefile("rb"))
    except OSError:
        return None


def _read_reply(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError(f"unexpected Redis reply {line!r}")


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- Processes -------------------------------------------------------------------------------


processes = {}


def start(name, executable, **extra):
    env = dict(ENV, **extra)
    log_file = open(f"{TMP}/logs/{name}.log", "ab")
    process = subprocess.Popen([f"{BIN}/{executable}"], env=env, stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL)
    processes[name] = process
    with open(f"{TMP}/pids/{name}", "w") as f:
        f.write(str(process.pid))
    return process


def kill(name):
    process = processes.get(name)
    if process and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def wait_http(url, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def start_worker(i):
    start(f"worker{i}", "smscrm-worker", WORKER_HEALTH_PORT=str(WORKER_PORTS[i]))


def lib(command):
    subprocess.run(["bash", "-c", f"source {ROOT}/scripts/lib.sh; {command}"], check=True, capture_output=True, timeout=120)


# --- Setup ---------------------------------------------------------------------------------------


def setup():
    subprocess.run([f"{BIN}/smscrm", "migrate"], env=ENV, check=True, capture_output=True, timeout=120)
    tenant = subprocess.run(
        [f"{BIN}/smscrm", "tenant", "create", "--name", "faults", "--timezone", "UTC", "--country", "AU", "--quiet"],
        env=ENV, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    key = subprocess.run(
        [f"{BIN}/smscrm", "apikey", "create", "--tenant", tenant, "--name", "faults", "--role", "owner", "--quiet"],
        env=ENV, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    # 20 numbers at 10 segments/s: at most 200 messages a second, so the campaign is still
    # sending when the last fault comes, and the quiet window twelve hours away.
    quiet = (time.gmtime().tm_hour + 12) % 24
    sql(f"""
        INSERT INTO contacts (tenant_id, phone_e164, first_name, timezone, consent_at, consent_source)
        SELECT '{tenant}', '+614' || lpad(g::text, 8, '0'), 'Name' || g, 'UTC', now(), 'faults' FROM generate_series(1, {N}) g;
        INSERT INTO contact_lists (tenant_id, name) VALUES ('{tenant}', 'everyone');
        INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
        SELECT '{tenant}', l.id, c.id FROM contacts c, contact_lists l WHERE c.tenant_id = '{tenant}' AND l.tenant_id = '{tenant}';
        INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps)
        SELECT '{tenant}', '+61480000' || lpad(g::text, 3, '0'), 'long_code', 10 FROM generate_series(1, 20) g;
    """)
    start("sandbox", "twilio-sandbox")
    wait_http(f"{SANDBOX}/health")
    start("api", "smscrm-api")
    wait_http(f"{API}/health")
    for i in range(WORKERS):
        start_worker(i)
    auth = {"Authorization": f"Bearer {key}"}
    list_id = sql(f"SELECT id FROM contact_lists WHERE tenant_id = '{tenant}'")
    status, body = http("POST", f"{API}/tenants/{tenant}/campaigns", {
        "name": "faults", "body_template": "Hi {{first_name}}, the fault run says hello", "list_ids": [list_id],
        "quiet_hours_start": f"{quiet:02d}:00", "quiet_hours_end": f"{quiet:02d}:01"}, auth)
    assert status == 201, (status, body)
    campaign = json.loads(body)["id"]
    return tenant, campaign, auth


# --- Measurements --------------------------------------------------------------------------------


def pending_in_postgres(campaign):
    text = sql(f"SELECT id FROM send_jobs WHERE campaign_id = '{campaign}' AND status IN ('queued', 'deferred')")
    return set(text.split()) if text else set()


def held_in_redis():
    """Job ids in the number lists, the delayed set and the active leases."""
    ids = set()
    numbers = redis("ZRANGE", "smscrm:{send}:ready", 0, -1) or []
    for number in numbers:
        for item in redis("LRANGE", f"smscrm:{{send}}:q:{number}", 0, -1) or []:
            ids.add(item.split(":")[0])
    for key in ("smscrm:{send}:delayed", "smscrm:{send}:active"):
        for member in redis("ZRANGE", key, 0, -1) or []:
            ids.add(member.split("|")[1])
    return ids


def restoration_seconds(campaign, wiped_at):
    """Seconds from the wipe until every job PostgreSQL says is pending is in Redis again."""
    while time.monotonic() - wiped_at < 120:
        if redis("PING") == "PONG":
            pending = pending_in_postgres(campaign)
            if pending and pending <= held_in_redis():
                return time.monotonic() - wiped_at
            if not pending:
                return None  # nothing left to restore: the measurement says nothing
        time.sleep(0.25)
    return float("inf")


def sandbox_total():
    status, body = http("GET", f"{SANDBOX}/_sandbox/stats")
    return json.loads(body)["messages"]["total"] if status == 200 else None


def sandbox_recipients():
    counts, cursor = {}, None
    for _ in range(10_000):
        url = f"{SANDBOX}/_sandbox/messages?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, body = http("GET", url)
        assert status == 200, (status, body[:200])
        page = json.loads(body)
        for message in page["messages"]:
            counts[message["to"]] = counts.get(message["to"], 0) + 1
        cursor = page.get("next_cursor")
        if not cursor:
            return counts
    raise RuntimeError("the sandbox listing did not end")


def worker_log_counts():
    """What the workers' repairs did, summed from their JSON log lines."""
    wanted = {
        "settled sent jobs whose status report never came": "sent_settled_by_lookup",
        "Redis had lost the queue: pending jobs restored from PostgreSQL": "restored_after_redis_loss",
        "recovered jobs left in sending": "stuck_recovered",
        "an unknown send never reached the provider: sending again": "unknown_resent",
        "settled an unknown send: the provider has it": "unknown_found",
    }
    counts = {}
    for name in os.listdir(f"{TMP}/logs"):
        if not name.startswith("worker"):
            continue
        with open(f"{TMP}/logs/{name}", errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                key = wanted.get(entry.get("msg") or entry.get("message"))
                if key:
                    metadata = entry.get("metadata", entry)
                    jobs = metadata.get("jobs") or metadata.get("requeued")
                    counts[key] = counts.get(key, 0) + (int(jobs) if str(jobs or "").isdigit() else 1)
    return counts


# --- The run -----------------------------------------------------------------------------------


def main():
    tenant, campaign, auth = setup()
    log(f"{N} recipients, {WORKERS} workers; launching")
    status, body = http("POST", f"{API}/tenants/{tenant}/campaigns/{campaign}/launch", headers=auth, timeout=300)
    assert status == 200, (status, body[:300])
    t0 = time.monotonic()
    results = {}
    stop_killing = threading.Event()

    def killer():
        i = 0
        while not stop_killing.wait(5):
            name = f"worker{i % WORKERS}"
            kill(name)
            start_worker(i % WORKERS)
            i += 1

    threading.Thread(target=killer, daemon=True).start()

    def at(second):
        delay = t0 + second - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    at(12)
    log("restarting PostgreSQL")
    lib(f"stop_postgres {TMP}/pg; start_postgres {TMP}/pg {PG_PORT} fast")
    at(24)
    log("restarting Redis without persistence: its data is gone")
    lib(f"stop_redis {TMP}/redis")
    wiped = time.monotonic()
    lib(f"start_redis {TMP}/redis {REDIS_PORT}")
    results["restoration"] = restoration_seconds(campaign, wiped)
    log(f"every pending job back in Redis after {results['restoration']} s")
    at(36)
    log("killing the API for 5 s")
    kill("api")
    time.sleep(5)
    start("api", "smscrm-api")
    wait_http(f"{API}/health")
    at(44)
    http("POST", f"{SANDBOX}/_sandbox/faults", {"hang_rate": 0})
    at(50)
    stop_killing.set()
    victim = f"worker{random.randrange(WORKERS)}"
    log(f"SIGKILL {victim} mid-send; pausing the tenant 4 s later")
    kill(victim)
    at(54)
    started = time.monotonic()
    status, body = http("POST", f"{API}/tenants/{tenant}/pause", headers=auth)
    results["pause"] = time.monotonic() - started
    assert status == 200, (status, body[:300])
    before = sandbox_total()
    time.sleep(3)
    results["after_pause"] = sandbox_total() - before
    start_worker(int(victim[-1]))
    at(58)
    status, body = http("POST", f"{API}/tenants/{tenant}/resume", headers=auth)
    assert status == 200, (status, body[:300])
    http("POST", f"{SANDBOX}/_sandbox/faults", {"hang_rate": 0.01})

    log("faults over; waiting for every job to settle")
    while time.monotonic() < DEADLINE:
        open_jobs = int(sql(f"SELECT count(*) FROM send_jobs WHERE campaign_id = '{campaign}' AND status IN ('queued', 'deferred', 'parked', 'sending', 'unknown', 'sent')"))
        if open_jobs == 0:
            break
        time.sleep(2)
    drained = time.monotonic() - t0
    time.sleep(2)  # late callbacks

    by_status = dict(line.split("|") for line in sql(f"SELECT status, count(*) FROM send_jobs WHERE campaign_id = '{campaign}' GROUP BY 1").splitlines())
    recipients = sandbox_recipients()
    duplicates = sum(count - 1 for count in recipients.values() if count > 1)
    failed_for_good = sum(int(by_status.get(s, 0)) for s in ("failed", "undelivered", "blocked", "cancelled"))
    lost = N - len(recipients) - failed_for_good
    stale_sent = int(by_status.get("sent", 0))
    still_open = sum(int(by_status.get(s, 0)) for s in ("queued", "deferred", "parked", "sending", "unknown"))
    campaign_status = sql(f"SELECT status FROM campaigns WHERE id = '{campaign}'")
    repairs = worker_log_counts()

    print()
    print(f"fault run: {N} recipients, {WORKERS} workers, drained {drained:.0f} s after the launch")
    print(f"  jobs by status:        {json.dumps(by_status, sort_keys=True)}; campaign {campaign_status}")
    print(f"  repairs (worker logs): {json.dumps(repairs, sort_keys=True)}")
    print(f"  duplicates:            {duplicates}")
    print(f"  lost:                  {lost + still_open}  (never reached the sandbox {N - len(recipients)}, failed for good {failed_for_good}, still open {still_open})")
    print(f"  stale sent after drain:{stale_sent:>2}")
    restoration = results["restoration"]
    print(f"  Redis wipe → restored: {'n/a' if restoration is None else f'{restoration:.1f} s'}")
    print(f"  pause answered in:     {results['pause'] * 1000:.0f} ms (a worker SIGKILLed 4 s before); messages after it: {results['after_pause']}")
    ok = (duplicates == 0 and lost + still_open == 0 and stale_sent == 0 and restoration is not None and restoration <= 60
          and results["pause"] <= 1 and results["after_pause"] == 0)
    print(f"  goals met:             {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        code = main()
    finally:
        for name in list(processes):
            kill(name)
    sys.exit(code)
