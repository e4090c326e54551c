// etcd, the API server's storage: etcd's own command (go.etcd.io/etcd/server/v3/etcdmain) at the
// version k8s.io/kubernetes pins, so one module graph builds both programs.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
