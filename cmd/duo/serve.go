package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/duo-go/duo/internal/serve"
)

func init() {
	commands["serve"] = command{"an HTTP API (OpenAI completions, streamed step by step) and a browser page for a model", runServe}
}

// runServe serves a model over HTTP (internal/serve) until SIGINT or
// SIGTERM, then stops accepting, lets the requests under way finish for
// --shutdown-timeout and cancels the rest.
func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --checkpoint DIR [--addr 127.0.0.1:8080] [flags]", stderr)
	dir := fs.String("checkpoint", "", "model directory (this project's, a converted .ckpt, the authors' Hugging Face layout)")
	tok := fs.String("tokenizer", "", "tokenizer (default: the checkpoint's)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	name := fs.String("name", "", "the model's id in the API (default: the directory's name)")
	var cfg serve.Config
	fs.IntVar(&cfg.Workers, "workers", 1, "requests sampled at once (each uses every --threads)")
	fs.IntVar(&cfg.Queue, "queue", 16, "requests waiting for a worker; more are answered 503 with Retry-After")
	fs.BoolVar(&cfg.Batch, "batch", true, "sample queued requests of the same shape (steps, length, sampler, top_p) in one batch")
	fs.IntVar(&cfg.MaxRows, "max-rows", 32, "samples in one batch")
	fs.IntVar(&cfg.MaxN, "max-n", 16, "samples per request (n)")
	fs.IntVar(&cfg.MaxSteps, "max-steps", 1024, "denoising steps per request")
	fs.Int64Var(&cfg.MaxBody, "max-body", 1<<20, "request body bytes")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long requests under way may finish before they are cancelled")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := exec.start(stderr,
		check{"workers", cfg.Workers >= 1, "at least 1"},
		check{"queue", cfg.Queue >= 1, "at least 1"},
		check{"max-rows", cfg.MaxRows >= 1, "at least 1"},
		check{"max-n", cfg.MaxN >= 1 && cfg.MaxN <= cfg.MaxRows, "in [1, --max-rows]"},
		check{"max-steps", cfg.MaxSteps >= 1, "at least 1"},
		check{"max-body", cfg.MaxBody >= 1, "at least 1"},
		check{"shutdown-timeout", *grace >= 0, ">= 0"},
	)
	if err != nil {
		return err
	}
	defer release()
	if cfg.Model, err = openModel(*dir, *tok); err != nil {
		return err
	}
	cfg.Name, cfg.AccessLog = *name, stdout
	if cfg.Name == "" {
		cfg.Name = filepath.Base(filepath.Clean(*dir))
	}
	srv, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	hs := &http.Server{Handler: srv, BaseContext: func(net.Listener) context.Context { return base }, ReadHeaderTimeout: 10 * time.Second}
	m := cfg.Model.Net
	fmt.Fprintf(stderr, "serving %s (%s, %d parameters, length %d, vocabulary %d) on http://%s/ (workers %d, queue %d, batching %v)\n",
		cfg.Name, cfg.Model.Info.Objective, m.NumParams(), m.Length, m.Vocab, ln.Addr(), cfg.Workers, cfg.Queue, cfg.Batch)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	select {
	case err := <-errc:
		srv.Close()
		return err
	case sig := <-sigs:
		fmt.Fprintf(stderr, "%v: shutting down (requests under way have %v)\n", sig, *grace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := hs.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		cancelAll() // what is left stops between steps and answers
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
	}
	srv.Close()
	return nil
}
