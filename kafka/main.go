// Command kafka is the Kafka profile's broker on this machine: franz-go's kfake, an in-process
// broker that speaks the Kafka wire protocol (produce, fetch, consumer groups, offset commits),
// as a process of its own. It is a protocol-level stand-in for a Kafka cluster, not Kafka: one
// node, no replication, topics created on first use. make run PROFILE=kafka and the end-to-end
// suite start it; a real cluster needs only its addresses in SKMALL_KAFKA_BROKERS.
//
//	kafka -port 19092 -partitions 16 -data .data/kafka
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 19092, "the port it listens on, on 127.0.0.1")
	partitions := flag.Int("partitions", 16, "partitions of each topic it creates: the most consumers of one group that share a topic")
	data := flag.String("data", "", "a folder to keep topics and committed offsets in across restarts (none: in memory)")
	sync := flag.Bool("sync", false, "with -data: write every produced batch to disk before acknowledging it")
	verbose := flag.Bool("v", false, "log every failed request, not only errors")
	flag.Parse()
	if err := run(*port, *partitions, *data, *sync, *verbose); err != nil {
		slog.Error("kafka stand-in", "err", err)
		os.Exit(1)
	}
}

func run(port, partitions int, data string, sync, verbose bool) error {
	level := kfake.LogLevelError
	if verbose {
		level = kfake.LogLevelWarn
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)),
	}
	if data != "" {
		opts = append(opts, kfake.DataDir(data))
		if sync {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	slog.Info("kafka stand-in listening", "addrs", cluster.ListenAddrs(), "partitions", partitions, "data", data)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	// With -data, Close writes what is still buffered.
	cluster.Close()
	return nil
}
