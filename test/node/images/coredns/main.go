// CoreDNS for the real node (test/harness/node/), with only the plugins a one-node test
// cluster uses: cluster DNS from the Kubernetes API, health and readiness for its probes,
// and forward/hosts so a test can send its own domains to the harness's DNS server.
// `go install github.com/coredns/coredns@v…` would build every plugin and cloud SDK;
// importing the plugins one by one keeps the build to about a minute (README.md).
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
