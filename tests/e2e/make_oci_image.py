#!/usr/bin/env python3
"""Write a tiny single-layer OCI image layout from scratch (no daemon, no network).

    make_oci_image.py OUT_DIR TAG [TEXT]

OUT_DIR becomes an OCI image layout (oci-layout, index.json, blobs/sha256/...)
holding one image tagged TAG whose only layer is a gzip tarball with
/hello.txt = TEXT. Usable as `skopeo copy oci:OUT_DIR:TAG docker://...`.
The output is deterministic for given arguments.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def write_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    out, tag = sys.argv[1], sys.argv[2]
    text = (sys.argv[3] if len(sys.argv) == 4 else "hello from ecr-login e2e") + "\n"
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        payload = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        tar.addfile(info, io.BytesIO(payload))
    raw_bytes = raw.getvalue()
    layer = gzip.compress(raw_bytes, mtime=0)

    diff_id = "sha256:" + hashlib.sha256(raw_bytes).hexdigest()
    layer_digest = write_blob(out, layer)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "tests/e2e/make_oci_image.py"}],
    }, sort_keys=True).encode()
    config_digest = write_blob(out, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": len(layer)}],
    }, sort_keys=True).encode()
    manifest_digest = write_blob(out, manifest)

    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": len(manifest),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        }, f)
    print(manifest_digest)


if __name__ == "__main__":
    main()
