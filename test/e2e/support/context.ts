// What global-setup.ts hands to the e2e test files through vitest's
// provide()/inject(). Values must be structured-clonable (plain data only).

export interface E2EContext {
  /**
   * Set when there is no Docker engine to test against; every describeE2E()
   * block is then skipped and its name carries this text. Never set when
   * CI=true: global setup throws instead, so a CI run cannot pass by skipping.
   */
  skipReason?: string;
  /**
   * Docker client to run: the first of /usr/bin/docker (Debian trixie's
   * docker-cli 26.1) and the `docker` on PATH that has the buildx plugin.
   */
  docker: string;
  /**
   * 'private': the tests' own dockerd (as root, no engine answering);
   * 'user': the user's engine (DOCKER_HOST or /var/run/docker.sock); '' with skipReason.
   */
  engineKind: 'private' | 'user' | '';
  /** `docker version` Client.Version of `docker`, e.g. "26.1.5+dfsg1". */
  clientVersion: string;
  /** `docker version` Server.Version of the engine, e.g. "26.1.5+dfsg1"; '' with skipReason. */
  engineVersion: string;
  /**
   * The engine's storage driver as `docker info` names it: "overlayfs" (a
   * containerd snapshotter) on the private engine, "overlay2" on an engine
   * with the classic image store.
   */
  storageDriver: string;
  /**
   * The engine keeps its images in containerd (daemon.json features
   * containerd-snapshotter, the private engine always): one local name can
   * hold a multi-platform image, and BuildKit's default provenance
   * attestation makes `docker build` + `docker push` push an OCI index (an
   * image manifest plus an unknown/unknown attestation manifest), which
   * `docker manifest create` refuses as a part ("is a manifest list"). With
   * the classic store the same push is a single Docker image manifest.
   */
  containerdStore: boolean;
  /**
   * `docker buildx` works with `docker` against the engine (plugin found and
   * the default builder, docker driver, answers). When true, `docker build`
   * is buildx's build too (with DOCKER_BUILDKIT=1 and without buildx, the
   * 26.x client refuses to build).
   */
  hasBuildx: boolean;
  /** buildx's version, e.g. "0.13.1+ds1"; undefined without buildx. */
  buildxVersion?: string;
  /**
   * The podman wrapper `<binDir>/podman` (support/podman.ts): the real podman
   * with storage, config and registries.conf private to this run (127.0.0.1 on
   * any port is plain HTTP). Pass it as `DOCKER=` to make or run it directly.
   * undefined when podman is not installed (never under CI=true: global setup
   * fails instead).
   */
  podman?: string;
  /** `podman --version`'s number, e.g. "4.3.1"; undefined without podman. */
  podmanVersion?: string;
  /** /usr/bin/cosign (or the one on PATH) when installed. */
  cosign?: string;
  /**
   * The qemu-aarch64 binfmt_misc handler is enabled, so a RUN step of a
   * linux/arm64 build runs (emulated). Read at setup; a test that disables the
   * handler should call binfmtEnabled() from base-image.ts itself.
   */
  qemuArm64: boolean;
  /**
   * DOCKER_HOST for the client: the private engine's socket, the user's own
   * DOCKER_HOST, or unix:///var/run/docker.sock. Set whenever there is an
   * engine (so a DOCKER_CONTEXT cannot redirect the client); undefined only
   * with skipReason.
   */
  dockerHost?: string;
  /**
   * A DOCKER_CONFIG directory private to this run (`docker manifest` keeps its
   * local lists there; stale lists from another run would make
   * `docker manifest create` refuse to amend).
   */
  dockerConfig: string;
  /**
   * A directory holding `docker` -> the client above and, with podman, the
   * `podman` wrapper. Put it first on PATH when running make, so a generated
   * Makefile's plain `docker` is the client chosen here (on this machine
   * /usr/local/bin/docker 28.x comes first on PATH) and a plain `podman` uses
   * the private storage. e2eEnv() in e2e.ts does that.
   */
  binDir: string;
  /**
   * Extra `docker build` flags the engine needs: '--network=host' on the
   * private engine, or any engine without a default `bridge` network (it runs
   * with --bridge=none, so a RUN step on the default network fails with
   * "network bridge not found"); '' on an ordinary user's engine.
   */
  buildFlags: string;
  /**
   * A local single-arch (host arch) busybox image, `mkimages-e2e-base-<runId>:latest`:
   * /bin/sh and all busybox applets, PATH=/bin. Usable in FROM without a pull,
   * as long as the build's --platform is the host's.
   */
  baseImage: string;
  /**
   * A real two-arch manifest list (Docker media types) in `registry`:
   * `<registry>/mkimages-e2e-base-<runId>:latest`, with per-arch tags `:amd64`
   * and `:arm64` beside it. The linux/amd64 entry holds an amd64 busybox, the
   * linux/arm64 entry an arm64 busybox, so a RUN step of a linux/arm64 build
   * runs under QEMU (see qemuArm64) and `uname -m` says aarch64 there. Use it
   * as FROM for `--platform` builds: BuildKit resolves the matching entry from
   * the registry.
   */
  baseImageMulti: string;
  /** A registry for general use, `127.0.0.1:<port>` (plain HTTP). */
  registry: string;
  /** Short random lowercase token; put it in every image/repo name a test makes. */
  runId: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2EContext;
  }
}
