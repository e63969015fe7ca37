"""Benchmark: worker CPU per transfer through the Flask stack, in one process.

    /work/venv/bin/python bench/transfer_cpu.py postgresql 400          # CPU and wall ms per transfer
    /work/venv/bin/python bench/transfer_cpu.py sqlite 400
    /work/venv/bin/python bench/transfer_cpu.py postgresql 400 prof     # + cProfile dump to /tmp/transfer_cpu.prof

Builds a seed registry through the services (bench/_http_setup.py; PostgreSQL:
a fresh database arcreg_trace on the local server), then makes N
POST /api/v1/transfers through the test client, half partial, each with its
participant's token and an Idempotency-Key, and prints the process CPU time
and wall time per transfer. This is the worker side of bench/http_transfers.py
without gunicorn and the load client: the number to watch when trimming the
request path (docs/performance.md, HTTP transfers).
"""
import cProfile
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sqlalchemy as sa
from registry.db import make_engine
from registry.config import Config
import _http_setup
from api import create_app
url = sys.argv[1]; N = int(sys.argv[2]); prof = len(sys.argv) > 3
if url.startswith('postgresql'):
    admin = sa.create_engine('postgresql+psycopg://postgres@127.0.0.1:5432/postgres', isolation_level='AUTOCOMMIT')
    with admin.connect() as c:
        c.exec_driver_sql('DROP DATABASE IF EXISTS arcreg_trace WITH (FORCE)'); c.exec_driver_sql('CREATE DATABASE arcreg_trace')
    url = 'postgresql+psycopg://postgres@127.0.0.1:5432/arcreg_trace'
else:
    if os.path.exists('/tmp/transfer_cpu.db'):
        os.unlink('/tmp/transfer_cpu.db')
    url = 'sqlite:////tmp/transfer_cpu.db'
engine = make_engine(url)
seed = _http_setup.build(engine, participants=16, blocks_each=40)
app = create_app(Config(database_url=url, clock=_http_setup.SERVER_CLOCK, signing_key_file='/tmp/transfer_cpu_key.pem', rate_limit='100000/minute'), engine=engine)
client = app.test_client()
tokens = seed['tokens']; ps = sorted(tokens)
held = {}
for p in ps:
    r = client.get(f'/api/v1/blocks?owner={p}&state=active&limit=100', headers={'Authorization': 'Bearer ' + tokens[p]}).get_json()
    items = r['items'] if isinstance(r, dict) else r
    held[p] = [(b['serial'], b['quantity']) for b in items]
rnd = random.Random(1)
def one(i):
    p = rnd.choice([p for p in ps if held[p]])
    serial, q = held[p].pop(rnd.randrange(len(held[p])))
    to = rnd.choice([x for x in ps if x != p])
    partial = i % 2 == 0
    body = {'serial': serial, 'to_participant_id': to, 'quantity': '1.000' if partial else q}
    r = client.post('/api/v1/transfers', json=body, headers={'Authorization': 'Bearer ' + tokens[p], 'Idempotency-Key': f'k{i}'})
    assert r.status_code == 201, r.get_json()
    return r


def refresh(p):
    r = client.get(f'/api/v1/blocks?owner={p}&state=active&limit=100', headers={'Authorization': 'Bearer ' + tokens[p]}).get_json()
    items = r['items'] if isinstance(r, dict) else r
    held[p] = [(b['serial'], b['quantity']) for b in items]
for i in range(20): one(i)
for p in ps: refresh(p)
pr = cProfile.Profile() if prof else None
c0, w0 = time.process_time(), time.perf_counter()
if pr: pr.enable()
for i in range(N): one(1000 + i)
if pr: pr.disable()
c1, w1 = time.process_time(), time.perf_counter()
print(f'{url.split(":")[0]}: {N} transfers, cpu {1000*(c1-c0)/N:.2f} ms/transfer, wall {1000*(w1-w0)/N:.2f} ms/transfer')
if pr:
    pr.dump_stats('/tmp/transfer_cpu.prof')
