"""Inclusion-proof latency through the HTTP API (docs/PERFORMANCE.md, eighth session).

Run against a running `dezky serve`: python3 scripts/experiments/proof_latency_http.py HOST PORT OPERATOR_TOKEN SAMPLES
"""
import http.client, json, random, sys, time
host, port, token, samples = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection(host, port)
h = {"Authorization": f"Bearer {token}"}
def get(path):
    c.request("GET", path, headers=h); r = c.getresponse(); body = r.read()
    if r.status != 200: raise SystemExit(f"{path}: {r.status} {body[:300]}")
    return json.loads(body)
# tree size from the latest checkpoint note's second line
c.request("GET", "/api/v1/audit/checkpoint/latest", headers=h); r = c.getresponse(); note = r.read().decode()
tree = int(note.split("\n")[1])
lat = []
for _ in range(samples):
    seq = random.randrange(tree)
    t = time.perf_counter()
    p = get(f"/api/v1/audit/proof/inclusion?seq={seq}&treeSize={tree}")
    lat.append((time.perf_counter() - t) * 1000)
    assert p["seq"] == seq and p["treeSize"] == tree and len(p["path"]) > 0
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print(f"treeSize {tree}, {samples} inclusion proofs over HTTP: p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, max {lat[-1]:.2f} ms")
