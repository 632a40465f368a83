"""Calls an irecgan SavedModel export from plain TensorFlow, as a researcher would: no irecgan.

    python savedmodel_client.py EXPORT_DIR REQUESTS.json OUT.json

REQUESTS.json: a list of {"signature": "recommend", "history": [[str]], "length": [int],
"k": int} or {"signature": "score", "history", "length", "candidates": [[str]]}. OUT.json: one
object per request: the signature's outputs as lists (strings decoded), or {"error": "Type: the message
on one line"} when the call failed. TF 2.x loads with `tf.saved_model.load` and
calls the signatures; TF 1.x with `tf.saved_model.loader.load` and `Session.run` on the
signature's tensors. Fails if irecgan was imported (tests/test_export.py runs it in a fresh
interpreter).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

INPUTS = {"history": (tf.string, str), "length": (tf.int32, np.int32), "k": (tf.int32, np.int32),
          "candidates": (tf.string, str)}


def arrays(request):
    out = {}
    for name, (_, kind) in INPUTS.items():
        if name in request:
            out[name] = np.array(request[name], dtype=kind)
    return out


def plain(outputs):
    out = {}
    for name, value in outputs.items():
        value = np.asarray(value)
        if value.dtype.kind in "SO":
            out[name] = [[x.decode("utf-8") for x in row] for row in value]
        else:
            out[name] = value.tolist()  # float32 -> float: exact
    return out


def error(err):
    return {"error": "%s: %s" % (type(err).__name__, " ".join(str(err).split()))}


def call_tf2(export_dir, requests):
    model = tf.saved_model.load(export_dir, tags=["serve"])
    results = []
    for request in requests:
        signature = model.signatures[request["signature"]]
        feed = dict((name, tf.constant(value, INPUTS[name][0]))
                    for name, value in arrays(request).items())
        try:
            results.append(plain(dict((k, v.numpy()) for k, v in signature(**feed).items())))
        except tf.errors.OpError as err:
            results.append(error(err))
    return results


def call_tf1(export_dir, requests):
    results = []
    with tf.Graph().as_default(), tf.Session() as session:
        meta = tf.saved_model.loader.load(session, ["serve"], export_dir)
        for request in requests:
            signature = meta.signature_def[request["signature"]]
            feed = dict((signature.inputs[name].name, value)
                        for name, value in arrays(request).items())
            fetch = dict((name, info.name) for name, info in signature.outputs.items())
            try:
                results.append(plain(session.run(fetch, feed)))
            except tf.errors.OpError as err:
                results.append(error(err))
    return results


def main(export_dir, requests_path, out_path):
    with open(requests_path) as handle:
        requests = json.load(handle)
    call = call_tf1 if tf.__version__.startswith("1.") else call_tf2
    results = call(export_dir, requests)
    imported = sorted(m for m in sys.modules if m == "irecgan" or m.startswith("irecgan."))
    assert not imported, imported
    with open(out_path, "w") as handle:
        json.dump({"tensorflow": tf.__version__, "results": results}, handle)


if __name__ == "__main__":
    main(*sys.argv[1:4])
