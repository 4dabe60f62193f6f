// Publishes images into a registry as `make push-N` leaves them, straight
// through the registry's HTTP API (no engine, no builds): for each image and
// platform KEY a tiny image at REPO:TAG-KEY whose config carries the labels
// dev.mkimages.content=H and dev.mkimages.platform=KEY, then one OCI index of
// those at REPO:TAG and at REPO:H. A no-op `make push-all-images` then finds
// every :H published.
//
// Also the same facts for test/support/fake-docker: the references it should
// find (FAKE_DOCKER_PUBLISHED) and the content label of each (FAKE_DOCKER_LABELS).

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface PublishedImage {
  /** The repository below REGISTRY (images.json `publishedName`). */
  repo: string;
  tag: string;
  hash: string;
  /** Platform keys as the Makefile spells them (`os-arch[-third]`: linux-amd64, windows-amd64-ltsc2022). */
  keys: string[];
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** The refs an image published by mkimages answers to: :H, :TAG and :TAG-KEY. */
export function publishedRefs(registry: string, img: PublishedImage): string[] {
  return [...new Set([`${registry}/${img.repo}:${img.hash}`, `${registry}/${img.repo}:${img.tag}`, ...img.keys.map((k) => `${registry}/${img.repo}:${img.tag}-${k}`)])];
}

/** FAKE_DOCKER_PUBLISHED and FAKE_DOCKER_LABELS contents for these images. */
export function fakeRegistryFiles(registry: string, images: PublishedImage[]): { published: string; labels: string } {
  const refs = images.flatMap((i) => publishedRefs(registry, i).map((r) => ({ r, h: i.hash })));
  return { published: refs.map((x) => `${x.r}\n`).join(''), labels: refs.map((x) => `${x.r} ${x.h}\n`).join('') };
}

/**
 * Pushes `images` to the registry at `host` (`127.0.0.1:PORT`, plain HTTP)
 * under `prefix` (REGISTRY = host/prefix), `jobs` images at a time. Returns
 * the number of manifests written.
 */
export async function publishImages(host: string, prefix: string, images: PublishedImage[], jobs = 8): Promise<number> {
  const base = `http://${host}/v2`;
  // One empty layer (a 1 KiB tar of zeros, i.e. an empty archive) shared by every image.
  const tar = Buffer.alloc(1024);
  const layer = gzipSync(tar);
  const layerDigest = sha(layer);
  let manifests = 0;

  const putBlob = async (repo: string, data: Buffer): Promise<string> => {
    const digest = sha(data);
    const head = await fetch(`${base}/${repo}/blobs/${digest}`, { method: 'HEAD' });
    if (head.status === 200) return digest;
    const start = await fetch(`${base}/${repo}/blobs/uploads/`, { method: 'POST' });
    await start.arrayBuffer();
    if (start.status !== 202) throw new Error(`POST ${repo} blob upload: HTTP ${start.status}`);
    const url = new URL(start.headers.get('location') ?? '', `http://${host}`);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(data), headers: { 'content-type': 'application/octet-stream' } });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`PUT ${repo} blob ${digest}: HTTP ${put.status} ${text}`);
    return digest;
  };
  const putManifest = async (repo: string, ref: string, body: Buffer, mediaType: string): Promise<void> => {
    const r = await fetch(`${base}/${repo}/manifests/${ref}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': mediaType } });
    const text = await r.text();
    if (r.status !== 201) throw new Error(`PUT ${repo}:${ref}: HTTP ${r.status} ${text}`);
    manifests++;
  };

  const publishOne = async (img: PublishedImage): Promise<void> => {
    const repo = `${prefix}/${img.repo}`;
    await putBlob(repo, layer);
    const entries: Array<{ mediaType: string; digest: string; size: number; platform: Record<string, string> }> = [];
    for (const key of img.keys) {
      const [os, architecture, third] = key.split('-');
      // A Windows key's third part names a release (ltsc2022), not os.version: left out.
      const platform: Record<string, string> = { os, architecture, ...(third && os !== 'windows' ? { variant: third } : {}) };
      const config = Buffer.from(
        JSON.stringify({
          architecture,
          os,
          config: { Labels: { 'dev.mkimages.content': img.hash, 'dev.mkimages.platform': key, 'org.opencontainers.image.version': img.tag } },
          rootfs: { type: 'layers', diff_ids: [sha(tar)] },
        }),
      );
      const configDigest = await putBlob(repo, config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
        }),
      );
      await putManifest(repo, `${img.tag}-${key}`, manifest, OCI_MANIFEST);
      entries.push({ mediaType: OCI_MANIFEST, digest: sha(manifest), size: manifest.length, platform });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
    for (const ref of new Set([img.tag, img.hash])) await putManifest(repo, ref, index, OCI_INDEX);
  };

  const queue = [...images];
  await Promise.all(
    Array.from({ length: Math.max(1, jobs) }, async () => {
      for (let img = queue.shift(); img; img = queue.shift()) await publishOne(img);
    }),
  );
  return manifests;
}
