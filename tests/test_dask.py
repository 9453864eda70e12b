"""vedette.dask on a real cluster of two worker processes, the Arrow layout both cluster
adapters share, and docs/clusters.md's Spark recipe run against a stand-in for pyspark."""

from __future__ import annotations

import bz2
import gc
import gzip
import lzma
import pickle
import re
import subprocess
import sys
import time
import types
from functools import cached_property
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from conftest import DATA  # noqa: E402

import vedette  # noqa: E402
import vedette.dask  # noqa: E402
from vedette import arrow  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SORT = ["file", "line", "start", "end", "kind", "observed", "field"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> list[str]:
    """Real Zeek, Suricata, sshd and web logs: a directory of files this test compresses
    (walked on the client) and files named one by one."""
    if not DATA.is_dir():
        pytest.skip(f"real data not present at {DATA}")
    zeek = DATA / "zeek/trickbot-2018-11"
    packed = tmp_path_factory.mktemp("logs")
    (packed / "dns.log.gz").write_bytes(gzip.compress((zeek / "dns.log").read_bytes()))
    (packed / "http.log.bz2").write_bytes(bz2.compress((zeek / "http.log").read_bytes()))
    (packed / "files.log.xz").write_bytes(lzma.compress((zeek / "files.log").read_bytes()))
    (packed / "sub").mkdir()
    eve = (DATA / "logs/suricata-eve/zeus-pcap-eve.json").read_bytes()
    (packed / "sub/eve.log.gz").write_bytes(gzip.compress(eve))
    # A walk takes a link to a file and leaves a link to a directory (here a loop) out.
    (packed / "sub/dhcp.log").symlink_to(zeek / "dhcp.log")
    (packed / "sub/up").symlink_to(packed)
    named = [
        zeek / "conn.log.gz",
        zeek / "ssl.log.gz",
        zeek / "x509.log",
        DATA / "logs/auth/auth.log.gz",
        DATA / "logs/web/apache_logs.log.gz",
        DATA / "logs/loghub/OpenSSH_2k.log",
    ]
    return [str(packed), *map(str, named)]


@pytest.fixture(scope="module")
def index() -> vedette.Index:
    """A real feed and values seen in the logs, with every kind of record metadata; some
    hits have two or three records."""
    if not DATA.is_dir():
        pytest.skip(f"real data not present at {DATA}")
    builder = vedette.IndexBuilder()
    builder.load(DATA / "feeds/ipsum/levels_3.txt", source="ipsum")
    builder.add(
        "api.ipify.org",
        source="analyst",
        confidence=90,
        tlp="amber",
        tags=["recon", "trickbot"],
        ref="case-7",
        valid_from="2018-01-01T00:00:00Z",
        valid_until="2040-01-01T00:00:00Z",
        description="address lookup before the c2 check-in",
    )
    builder.add("api.ipify.org", source="second opinion", confidence=40)
    builder.add("ipinfo.io", source="analyst")
    builder.add("bespokeutilitysolutions.co.uk/sun.sets", source="analyst")  # host+uri
    builder.add("www.wireshark.org", source="eve")
    builder.add("66.249.73.135", source="web", confidence=20)
    builder.add("66.249.0.0/16", source="crawlers", tags=["benign?"])
    return builder.build()


@pytest.fixture(scope="module")
def client():
    # The scheduler of a LocalCluster runs in this process, and its log of the messages it
    # sent would keep the tasks, and so the index's future, alive: no log.
    with (
        dask.config.set({"distributed.admin.low-level-log-length": 0}),
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def local(index: vedette.Index, paths: list[str]) -> tuple[pd.DataFrame, list]:
    """A scan in this process, converted as the partitions are."""
    scan = index.scan_files(paths, threads=1)
    return arrow.to_pandas(arrow.hit_batches(scan)), scan.errors


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(SORT, kind="stable").reset_index(drop=True)


def test_importing_vedette_leaves_dask_out() -> None:
    code = (
        "import sys, vedette\n"
        "assert not {'dask', 'distributed', 'pandas', 'pyarrow'} & set(sys.modules)\n"
        "sys.modules['dask'] = None\n"
        "try:\n"
        "    import vedette.dask\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'pip install "vedette[dask]"' in out.stdout


def test_without_a_cluster_the_local_scheduler_scans(logs, index) -> None:
    # Runs before the module's cluster starts: no distributed client exists yet.
    assert vedette.dask._client(None) is None
    hits = vedette.dask.scan(logs, index)
    expected, errors = local(index, logs)
    assert not errors
    pd.testing.assert_frame_equal(ordered(hits.compute()), ordered(expected))


def test_cluster_scan_equals_a_local_scan(client, logs, index) -> None:
    hits = vedette.dask.scan(logs, index)
    # A partition per file: the 5 in the directory, walked on the client, and 6 named.
    assert hits.npartitions == 11
    got = hits.compute()
    expected, errors = local(index, logs)
    assert not errors and len(expected) > 1000
    assert (got.dtypes == arrow.to_pandas([]).dtypes).all()
    pd.testing.assert_frame_equal(ordered(got), ordered(expected))
    # Every kind of log is in it, and the layout carries what the records say.
    assert {Path(f).name for f in got.file} >= {"dns.log.gz", "http.log.bz2", "eve.log.gz"}
    assert got.ts.isna().any() and got.ts.notna().any()  # auth.log has no record times
    two = got[got.observed == "api.ipify.org"].iloc[0]
    assert list(two.indicator_source) == ["analyst", "second opinion"]
    assert two.confidence == 90 and list(two.indicator_confidence) == [90, 40]
    assert list(two.indicator_tags) == [["recon", "trickbot"], []]
    assert "host+uri" in set(got.field.dropna())
    # Files grouped four to a partition give the same frame.
    grouped = vedette.dask.scan(logs, index, files_per_partition=4)
    assert grouped.npartitions == 3
    pd.testing.assert_frame_equal(ordered(grouped.compute()), ordered(expected))


def _index_keys(dask_worker) -> int:
    """How many scattered indexes a worker holds."""
    return sum(str(key).startswith("_IndexRef-") for key in dask_worker.data)


def _released(client) -> None:
    """Waits until no worker holds a scattered index: no frame of a scan is left."""
    gc.collect()
    deadline = time.monotonic() + 20
    while any(client.run(_index_keys).values()):
        assert time.monotonic() < deadline, "the workers kept the index"
        time.sleep(0.05)


def test_the_index_goes_to_each_worker_once(client, logs, index) -> None:
    digest = vedette.dask._IndexRef.of(index).digest

    def counts() -> tuple[int, int]:
        return vedette.dask._RECEIVED[digest], vedette.dask._LOADS[digest]

    _released(client)
    before = client.run(counts)
    hits = vedette.dask.scan(logs, index)
    hits.compute()
    # Eleven partitions, two workers: each received the index once.
    first = client.run(counts)
    assert len(first) == 2
    assert all(first[w][0] - before[w][0] == 1 for w in first), (before, first)
    # Once the frame is gone the workers drop the index; a new scan sends it again, and
    # each worker finds it loaded already: one load per worker in this whole module.
    del hits
    _released(client)
    vedette.dask.scan(logs, index).compute()
    again = client.run(counts)
    assert all(again[w][0] - first[w][0] == 1 for w in again), (first, again)
    assert all(loads == 1 for _, loads in again.values()), again


def test_bad_files_are_reported_and_the_others_scanned(client, logs, index, tmp_path) -> None:
    cut = tmp_path / "dns.cut.log.gz"
    whole = gzip.compress((DATA / "zeek/trickbot-2018-11/dns.log").read_bytes())
    cut.write_bytes(whole[: len(whole) // 2])
    paths = [*logs, str(tmp_path / "missing.log"), str(cut)]
    expected, errors = local(index, paths)
    assert [(Path(f).name, category) for f, category, _ in errors] == [
        ("missing.log", "unreadable"),
        ("dns.cut.log.gz", "corrupt"),
    ]

    with pytest.raises(vedette.ScanError, match=r"missing\.log: unreadable") as raised:
        vedette.dask.scan(paths[:-1], index).compute()
    assert raised.value.errors == errors[:1]

    hits = vedette.dask.scan(paths, index, errors="ignore")
    errs = vedette.dask.scan_errors(paths, index)
    with distributed.get_task_stream(client) as stream:
        got, got_errors = dask.compute(hits, errs)
    scans = [t["key"] for t in stream.data if str(t["key"]).startswith("vedette-scan-")]
    assert len(scans) == len(set(scans)) == hits.npartitions == 13  # each file read once
    pd.testing.assert_frame_equal(ordered(got), ordered(expected))
    assert sorted(got_errors.itertuples(index=False, name=None)) == sorted(errors)
    assert (got.file == str(cut)).any()  # the readable part of the cut file was scanned
    # Both errors come back from one partition of all the files too.
    together = vedette.dask.scan_errors(paths, index, files_per_partition=13)
    assert together.npartitions == 1
    assert list(together.compute().itertuples(index=False, name=None)) == errors


RECORD_FIELDS = ["value", "kind", "source", "ref", "confidence", "tlp", "tags"]
RECORD_FIELDS += ["valid_from", "valid_until", "description"]


def row_of(hit: vedette.FileHit) -> dict:
    """A hit as a row of the layout, read off the hit by its attributes' names."""
    row = {name: getattr(hit, name) for name in [*SORT, "ts", "uid"]}
    records = hit.indicators
    known = [r.confidence for r in records if r.confidence is not None]
    row["confidence"] = max(known, default=None)
    for name in RECORD_FIELDS:
        row[f"indicator_{name}"] = [getattr(r, name) for r in records]
    return row


def test_batches_hold_every_field(index) -> None:
    if not DATA.is_dir():
        pytest.skip(f"real data not present at {DATA}")
    path = str(DATA / "zeek/trickbot-2018-11/dns.log")
    hits = list(index.scan_files([path]))
    batches = list(arrow.hit_batches(index.scan_files([path]), rows=7))
    assert len(hits) > 14 and [b.num_rows for b in batches[:-1]] == [7] * (len(batches) - 1)
    assert all(batch.schema == arrow.SCHEMA for batch in batches)
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert len(rows) == len(hits)
    assert rows == [row_of(hit) for hit in hits]
    assert any(len(row["indicator_value"]) == 2 for row in rows)
    assert any(row["indicator_valid_from"][0] is not None for row in rows)


def test_explode_gives_a_row_per_record(index) -> None:
    frame = arrow.to_pandas(arrow.scan_batches(index, [str(DATA / "zeek/trickbot-2018-11")]))
    pairs = frame.explode(list(arrow.RECORD_COLUMNS))
    assert len(pairs) == frame.indicator_value.map(len).sum() > len(frame)
    assert set(pairs.indicator_source.dropna()) >= {"analyst", "second opinion", "ipsum"}


def test_scan_batches_raise_after_the_hits(index, tmp_path) -> None:
    log = tmp_path / "a.log"
    log.write_text("GET https://api.ipify.org/?format=json\n")
    batches = arrow.scan_batches(index, [str(tmp_path / "missing.log"), str(log)])
    batch = next(batches)
    assert batch.column("observed").to_pylist() == ["api.ipify.org"]
    with pytest.raises(vedette.ScanError) as raised:
        next(batches)
    [(file, category, _)] = raised.value.errors
    assert (file, category) == (str(tmp_path / "missing.log"), "unreadable")
    assert pickle.loads(pickle.dumps(raised.value)).errors == raised.value.errors
    assert str(raised.value).startswith("1 input not scanned whole: ")


def test_spark_schema_is_the_arrow_schema() -> None:
    ddl = arrow.spark_schema()
    assert ddl.startswith("`file` STRING, `line` BIGINT, `start` BIGINT, `end` BIGINT, ")
    assert "`ts` TIMESTAMP, `uid` STRING, `confidence` INT, " in ddl
    assert "`indicator_tags` ARRAY<ARRAY<STRING>>" in ddl
    assert "`indicator_valid_from` ARRAY<TIMESTAMP>" in ddl
    assert len(ddl.split(", `")) == len(arrow.SCHEMA)


class _Broadcast:
    """pyspark's broadcast: pickled on the driver, unpickled once where it is read."""

    def __init__(self, value) -> None:
        self._pickled = pickle.dumps(value)

    @cached_property
    def value(self):
        return pickle.loads(self._pickled)


class _Frame:
    """The parts of a Spark DataFrame that the recipe calls, with Spark's contracts."""

    def __init__(self, partitions: list[list]) -> None:
        self.partitions = partitions

    def repartition(self, n: int) -> _Frame:
        # Two partitions of batches of two paths, whatever n: a partition of Spark's may
        # hold several batches, and a batch several paths.
        table = pa.Table.from_batches([b for part in self.partitions for b in part])
        batches = table.to_batches(max_chunksize=2)
        return _Frame([batches[: len(batches) // 2], batches[len(batches) // 2 :]])

    def mapInArrow(self, func, schema: str) -> _Frame:
        assert schema == arrow.spark_schema()
        out = [list(func(iter(part))) for part in self.partitions]
        assert all(batch.schema == arrow.SCHEMA for part in out for batch in part)
        return _Frame(out)

    @property
    def write(self) -> _Frame:
        return self

    def parquet(self, path: str) -> None:
        batches = [batch for part in self.partitions for batch in part]
        pq.write_table(pa.Table.from_batches(batches, schema=arrow.SCHEMA), path)


class _Session:
    def __init__(self) -> None:
        self.sparkContext = types.SimpleNamespace(broadcast=_Broadcast)
        self.builder = types.SimpleNamespace(getOrCreate=lambda: self)

    def createDataFrame(self, rows: list[tuple[str]], schema: str) -> _Frame:
        assert schema == "path STRING"
        return _Frame([[pa.record_batch({"path": [path for (path,) in rows]})]])


def test_spark_recipe_runs(logs, index, tmp_path, monkeypatch) -> None:
    [recipe] = re.findall(r"```python\n(.*?)```", (ROOT / "docs/clusters.md").read_text(), re.S)
    session = _Session()
    sql = types.ModuleType("pyspark.sql")
    sql.SparkSession = session
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.setitem(sys.modules, "pyspark.sql", sql)
    monkeypatch.chdir(tmp_path)
    index.save("intel.vdx")
    recipe = recipe.replace("/mnt/logs", logs[0])
    exec(compile(recipe, "docs/clusters.md", "exec"), {})
    expected, _ = local(index, [logs[0]])
    got = arrow.to_pandas(pq.read_table("hits.parquet").to_batches())
    assert len(got) > 100
    pd.testing.assert_frame_equal(ordered(got), ordered(expected))
