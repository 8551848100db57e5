package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/serve"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// benchServe measures duo serve on loopback: closed-loop clients (each
// sends its next request when the last is answered) for a fixed time per
// cell, with batching on and off; requests/s, latency percentiles of the
// answered requests, 503s, and completion tokens/s.
func benchServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench serve", "bench serve [--model micro|small | --checkpoint DIR] [--clients 1,4,16] [--batching on,off] [--time 10s]", stderr)
	model := fs.String("model", "micro", "synthetic model with random weights: a training preset (bytes, L=128)")
	dir := fs.String("checkpoint", "", "a model directory instead of a synthetic model")
	clientsFlag := fs.String("clients", "1,4,16", "concurrent clients")
	batching := fs.String("batching", "on,off", "batching of queued requests: on, off or both")
	dur := fs.Duration("time", 10*time.Second, "time per cell")
	steps := fs.Int("steps", 16, "denoising steps per request")
	n := fs.Int("n", 1, "samples per request")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFlags(fs, check{"steps", *steps >= 1, "at least 1"}, check{"n", *n >= 1, "at least 1"}, check{"time", *dur > 0, "positive"}); err != nil {
		return err
	}
	clients, err := parseInts("clients", *clientsFlag)
	if err != nil {
		return err
	}
	var modes []bool
	for _, b := range strings.Split(*batching, ",") {
		switch b {
		case "on":
			modes = append(modes, true)
		case "off":
			modes = append(modes, false)
		default:
			return fmt.Errorf("--batching %q: want on, off or on,off", *batching)
		}
	}
	release, err := exec.start(stderr)
	if err != nil {
		return err
	}
	defer release()
	path, name := *dir, *dir
	if path == "" {
		p, ok := presets[*model]
		if !ok {
			return fmt.Errorf("--model %q: want micro, mini, tiny or small", *model)
		}
		p.Vocab, p.Length, p.MLPRatio = 256, 128, 4
		net, err := nn.NewDiT(p, tensor.NewRNG(1))
		if err != nil {
			return err
		}
		if path, err = os.MkdirTemp("", "duo-bench-serve"); err != nil {
			return err
		}
		defer os.RemoveAll(path)
		if err := nn.SaveDiT(path, net, map[string]any{"objective": duo.ObjectiveDuo, "tokenizer": "bytes"}, nil); err != nil {
			return err
		}
		name = *model
	}
	m, err := openModel(path, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serve %s: %d parameters, length %d, %d steps + final, n %d, %v per cell, %d threads, closed-loop clients on loopback\n",
		name, m.Net.NumParams(), m.Net.Length, *steps, *n, *dur, parallel.Threads())
	fmt.Fprintf(stdout, "%-9s %7s %8s %8s %9s %9s %9s %6s %10s\n", "batching", "clients", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "503s", "tokens/s")
	body := fmt.Sprintf(`{"steps": %d, "n": %d}`, *steps, *n)
	for _, batch := range modes {
		for _, c := range clients {
			r, err := serveCell(m, batch, c, *dur, body)
			if err != nil {
				return err
			}
			on := map[bool]string{true: "on", false: "off"}[batch]
			fmt.Fprintf(stdout, "%-9s %7d %8d %8.2f %9.1f %9.1f %9.1f %6d %10.0f\n", on, c, len(r.lat), float64(len(r.lat))/r.wall.Seconds(),
				pct(r.lat, 50), pct(r.lat, 90), pct(r.lat, 99), r.busy, float64(r.tokens)/r.wall.Seconds())
		}
	}
	return nil
}

type cellResult struct {
	lat          []float64 // ms, answered requests
	busy, tokens int
	wall         time.Duration
}

// serveCell runs c closed-loop clients against a fresh server for d.
func serveCell(m *duo.Model, batch bool, c int, d time.Duration, body string) (cellResult, error) {
	srv, err := serve.New(serve.Config{Model: m, Batch: batch, Queue: max(16, c), MaxRows: 64})
	if err != nil {
		return cellResult{}, err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return cellResult{}, err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background())
	url := "http://" + ln.Addr().String() + "/v1/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	var (
		mu  sync.Mutex
		res cellResult
		wg  sync.WaitGroup
		bad error
	)
	begin := time.Now()
	end := begin.Add(d)
	for range c {
		wg.Go(func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(body)))
				if err != nil {
					mu.Lock()
					bad = err
					mu.Unlock()
					return
				}
				var out serve.Completion
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				switch resp.StatusCode {
				case http.StatusOK:
					res.lat = append(res.lat, ms)
					res.tokens += out.Usage.CompletionTokens
				case http.StatusServiceUnavailable:
					res.busy++
				default:
					bad = fmt.Errorf("status %d", resp.StatusCode)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(begin)
	return res, bad
}

// pct returns the p-th percentile (nearest rank) of x, or 0 when empty.
func pct(x []float64, p float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
