"""The export format's model packages and output listings (version 2), and the S3
listing that fills them: strict types, version 1 still read, paging bounded."""

from __future__ import annotations

import json

import pytest

from mlops_guard.metadata import MetadataInputError, dump_store, load_store

VERSION_2 = {
    "format": "mlops-guard-metadata",
    "version": 2,
    "model_package_groups": [
        {
            "name": "forecast",
            "packages": [
                {
                    "arn": "arn:aws:sagemaker:us-east-1:1:model-package/forecast/1",
                    "version": 1,
                    "approval_status": "Approved",
                    "generated_by": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e1",
                    "reports": {
                        "ModelQuality.Statistics": {
                            "uri": "s3://b/evaluation.json",
                            "values": {"metrics.mape.value": 0.04},
                        }
                    },
                }
            ],
        }
    ],
    "outputs": [
        {
            "pipeline": "p",
            "step": "Predict",
            "output": "predictions",
            "base_uri": "s3://b/p/predict/",
            "partition_key": "dt",
            "folders": ["dt=2026-11-20/"],
            "executions": [
                {
                    "execution_arn": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e1",
                    "status": "Succeeded",
                    "partition": "dt=2026-11-20",
                }
            ],
            "tables": [
                {
                    "database": "d",
                    "name": "t",
                    "location": "s3://b/p/predict/",
                    "partition_keys": ["dt"],
                    "partitions": [{"values": ["2026-11-20"], "location": "s3://b/p/x/"}],
                }
            ],
        }
    ],
}


def test_round_trip(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(VERSION_2))
    store = load_store(path)
    dump_store(store, tmp_path / "again.json")
    assert load_store(tmp_path / "again.json") == store
    report = store.model_package_groups[0].packages[0].reports["ModelQuality.Statistics"]
    assert report.values == {"metrics.mape.value": 0.04}
    assert store.outputs[0].tables[0].partitions[0].location == "s3://b/p/x/"


def test_version_1_exports_still_load(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "mlops-guard-metadata", "version": 1}))
    store = load_store(path)
    assert (store.version, store.model_package_groups, store.outputs) == (1, [], [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["model_package_groups"][0]["packages"][0]["reports"][
                "ModelQuality.Statistics"
            ]["values"].update({"metrics.mape.value": "0.04"}),
            "/model_package_groups/0/packages/0/reports/ModelQuality.Statistics/values/"
            "metrics.mape.value: expected a number",
        ),
        (
            lambda d: d["outputs"][0].update({"folder": []}),
            "/outputs/0/folder: unknown key",
        ),
    ],
)
def test_strict_types_name_the_pointer(tmp_path, change, message):
    document = json.loads(json.dumps(VERSION_2))
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(MetadataInputError) as caught:
        load_store(path)
    assert message in str(caught.value)


def test_listing_pages_and_stops_at_the_cap(moto_server, monkeypatch):
    from mlops_guard.metadata.sources import _s3

    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="listing-test")
    for day in range(1, 8):
        s3.put_object(Bucket="listing-test", Key=f"out/dt=2026-11-0{day}/part.csv", Body=b"x")
    s3.put_object(Bucket="listing-test", Key="out/loose.csv", Body=b"x")
    calls = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append(kw))
    monkeypatch.setattr(_s3, "PAGE_KEYS", 3)  # AWS pages by 1000; 3 makes this account page
    found = _s3.list_folder(s3, "s3://listing-test/out/", max_keys=100)
    assert found.folders == [f"dt=2026-11-0{day}/" for day in range(1, 8)]
    assert found.objects == ["loose.csv"]
    assert len(calls) == 3
    with pytest.raises(_s3.NotReadable, match="more than 5 keys and folders"):
        _s3.list_folder(s3, "s3://listing-test/out/", max_keys=5)
