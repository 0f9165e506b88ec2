// Command pause holds a Pod sandbox open: it sleeps until SIGINT or SIGTERM and then exits 0, like
// upstream's pause container. Pods on the test node use hostNetwork, so there is no network namespace
// to hold and no zombie reaping to do (every container has its own PID namespace).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
