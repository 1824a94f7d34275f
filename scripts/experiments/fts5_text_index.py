"""The cost of SQLite FTS5 trigram index variants per inserted row (docs/PERFORMANCE.md, eighth session).

Run: python3 scripts/experiments/fts5_text_index.py   (writes /tmp/fts_<variant>.db)
"""
import sqlite3, time, random, os
random.seed(1)
names=["mueller","schmidt","schneider","fischer","weber","meyer","wagner","becker","schulz","hoffmann"]
acts=["file.uploaded","file.downloaded","user.login","user.logout","mail.sent","authentik.login_failed","ocis.share_created"]
rows=[]
for i in range(120000):
    n=random.choice(names)+str(random.randint(1,5000))
    rows.append((random.choice(acts), f"Rechnung-{random.randint(1,10**6)}-{n}.pdf", f"{n}@tenant{random.randint(1,300)}.example.org", f"tenant-{random.randint(1,300)}"))
def run(variant):
    path=f"/tmp/fts_{variant}.db"
    for ext in ["","-wal","-shm"]:
        try: os.remove(path+ext)
        except FileNotFoundError: pass
    c=sqlite3.connect(path, isolation_level=None)
    c.execute("pragma journal_mode=wal"); c.execute("pragma synchronous=normal")
    c.execute("create table ev(seq integer primary key, action text, resource_name text, actor_email text, tenant_slug text, st text generated always as (action||char(10)||coalesce(resource_name,'')||char(10)||coalesce(actor_email,'')||char(10)||coalesce(tenant_slug,'')) virtual)")
    if variant=="full4":
        c.execute("create virtual table ft using fts5(action, resource_name, actor_email, tenant_slug, content='ev', content_rowid='seq', tokenize='trigram')")
        ins="insert into ft(rowid, action, resource_name, actor_email, tenant_slug) select seq, action, resource_name, actor_email, tenant_slug from ev where seq>=? and seq<?"
    elif variant=="none1":
        c.execute("create virtual table ft using fts5(st, content='ev', content_rowid='seq', tokenize='trigram', detail='none')")
        ins="insert into ft(rowid, st) select seq, st from ev where seq>=? and seq<?"
    elif variant=="full1":
        c.execute("create virtual table ft using fts5(st, content='ev', content_rowid='seq', tokenize='trigram')")
        ins="insert into ft(rowid, st) select seq, st from ev where seq>=? and seq<?"
    elif variant=="notext":
        ins=None
    t=time.process_time()
    B=3200
    for s in range(0,len(rows),B):
        c.execute("begin")
        c.executemany("insert into ev(seq,action,resource_name,actor_email,tenant_slug) values (?,?,?,?,?)", [(s+i,)+r for i,r in enumerate(rows[s:s+B])])
        if ins: c.execute(ins,(s,s+B))
        c.execute("commit")
    cpu=time.process_time()-t
    size=os.path.getsize(path)+os.path.getsize(path+"-wal")
    q=None
    if variant!="notext":
        t=time.perf_counter()
        if variant=="full4" or variant=="full1":
            r=c.execute("select rowid from ft where ft match ? order by rowid desc limit 51",('"mueller4711@"',)).fetchall()
        else:
            r=c.execute("select rowid from ft where st like ? order by rowid desc limit 51",('%mueller4711@%',)).fetchall()
        q=(len(r), round((time.perf_counter()-t)*1000,1))
        t=time.perf_counter()
        if variant.startswith("full"):
            r=c.execute("select rowid from ft where ft match ? order by rowid desc limit 51",('"Rechnung"',)).fetchall()
        else:
            r=c.execute("select rowid from ft where st like ? order by rowid desc limit 51",('%Rechnung%',)).fetchall()
        q=q+(len(r), round((time.perf_counter()-t)*1000,1))
    print(variant, f"{len(rows)/cpu:,.0f} rows/cpu-s", f"{size/1e6:.0f} MB", "rare, common query (n, ms):", q)
for v in ["notext","full4","full1","none1","full4","none1"]:
    run(v)
