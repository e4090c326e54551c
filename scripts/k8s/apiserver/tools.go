//go:build tools

// The programs this module builds besides ./etcd (scripts/k8s/apiserver.sh build): importing them
// here keeps their dependencies in go.mod and go.sum through go mod tidy.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
