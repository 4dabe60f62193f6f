// webserver: a small multi-purpose e2e test binary in the spirit of
// Kubernetes' agnhost. Subcommands keep one image useful to many tests;
// images built on it (kitten, nautilus) only add files and pick one.
//
//	webserver test-webserver [-port 80] [-dir /srv/www]
//	webserver hostname
//	webserver whoami
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/user"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "test-webserver":
		testWebserver(os.Args[2:])
	case "hostname":
		name, err := os.Hostname()
		if err != nil {
			log.Fatalf("hostname: %v", err)
		}
		fmt.Println(name)
	case "whoami":
		fmt.Println(whoami())
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: webserver test-webserver [-port N] [-dir DIR] | hostname | whoami")
	os.Exit(2)
}

// whoami names the user the container runs as (tests of runAsUserName and
// runAsUser). On Windows os/user needs netapi32.dll, which nanoserver lacks:
// the Windows image copies it from windows-servercore-cache.
func whoami() string {
	u, err := user.Current()
	if err != nil {
		// A runAsUser uid with no /etc/passwd entry has no name.
		return strconv.Itoa(os.Getuid())
	}
	return u.Username
}

// testWebserver serves the files of dir, /healthz, /hostname and /whoami, the way
// agnhost's test-webserver serves tests that only need "something on :80".
func testWebserver(args []string) {
	fs := flag.NewFlagSet("test-webserver", flag.ExitOnError)
	port := fs.Int("port", 80, "port to listen on")
	dir := fs.String("dir", "/srv/www", "folder to serve")
	_ = fs.Parse(args)

	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(*dir)))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, _ *http.Request) {
		name, _ := os.Hostname()
		fmt.Fprintln(w, name)
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, whoami())
	})
	addr := ":" + strconv.Itoa(*port)
	log.Printf("test-webserver: serving %s on %s", *dir, addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
