// etcd, built from the same module graph as kube-apiserver so the two always
// agree on the etcd client/server version that Kubernetes release pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
