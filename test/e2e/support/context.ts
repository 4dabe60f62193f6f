// What global-setup.ts hands to the e2e test files through vitest's
// provide()/inject(). Values must be structured-clonable (plain data only).

export interface E2EContext {
  /**
   * Set when there is no Docker engine to test against; every describeE2E()
   * block is then skipped and its name carries this text. Never set when
   * CI=true: global setup throws instead, so a CI run cannot pass by skipping.
   */
  skipReason?: string;
  /** Docker client to run: /usr/bin/docker (Debian's 20.10) when present. */
  docker: string;
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
   * A directory whose only entry is `docker` -> the client above. Put it first
   * on PATH when running make, so a generated Makefile's plain `docker` is the
   * client that can do BuildKit builds (on this machine /usr/local/bin/docker,
   * which comes first on PATH, cannot). e2eEnv() in e2e.ts does that.
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
   * The same rootfs as a two-arch manifest list (linux/amd64 + linux/arm64) in
   * `registry`: `<registry>/mkimages-e2e-base-<runId>:latest`. Use it as FROM
   * for `--platform` builds: BuildKit resolves the matching entry from the
   * registry. Both entries hold the host's busybox binary, so RUN works for
   * either platform without qemu (the arch label is only a label).
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
