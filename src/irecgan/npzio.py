"""Deterministic `.npz` bytes: `np.savez` stamps each member with the current time, so two saves
of the same arrays differ byte for byte; here members are written in sorted order with a fixed
timestamp, so equal arrays give equal bytes. The result is an ordinary `.npz` (`np.load` reads
it, with allow_pickle=False) on numpy 1.x and 2.x alike. No TensorFlow."""
import io
import zipfile

import numpy as np

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays):
    """name -> array-like  ->  the bytes of a deflated `.npz` holding them as `name.npy`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buf.getvalue())
    return out.getvalue()
