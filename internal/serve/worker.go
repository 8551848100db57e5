package serve

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/duo-go/duo/duo"
)

// enqueue queues j, or reports false when the queue is full.
func (s *Server) enqueue(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) >= s.cfg.Queue {
		return false
	}
	s.pending = append(s.pending, j)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// next takes the oldest queued job and, with Config.Batch, the queued jobs
// that can share its batch; nil when the queue is empty.
func (s *Server) next() []*job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	jobs, rows := s.pending[:1:1], s.pending[0].cfg.Batch
	var rest []*job
	for _, k := range s.pending[1:] {
		if s.cfg.Batch && compatible(jobs[0], k) && rows+k.cfg.Batch <= s.cfg.MaxRows {
			jobs, rows = append(jobs, k), rows+k.cfg.Batch
		} else {
			rest = append(rest, k)
		}
	}
	s.pending = rest
	if len(rest) > 0 { // wake another worker
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	return jobs
}

// compatible reports whether two jobs can be sampled in one batch: the same
// grid, final step, nucleus and length, on a diffusion model.
func compatible(a, b *job) bool {
	x, y := a.cfg, b.cfg
	return x.Steps == y.Steps && x.Sampler == y.Sampler && x.TopP == y.TopP && x.Length == y.Length && x.Psi == nil && y.Psi == nil
}

// work runs queued jobs until the server stops.
func (s *Server) work() {
	defer s.wg.Done()
	for {
		jobs := s.next()
		if jobs == nil {
			select {
			case <-s.stop:
				return
			case <-s.notify:
				continue
			}
		}
		s.run(jobs)
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// run samples jobs in one batch and answers each with its rows.
func (s *Server) run(jobs []*job) {
	live := jobs[:0:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil { // gone while queued
			j.done <- result{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	s.batches.Add(1)
	s.running.Add(int64(len(live)))
	defer s.running.Add(-int64(len(live)))
	m := s.cfg.Model
	if m.Net.Causal { // left to right, one request at a time
		for _, j := range live {
			gens, err := m.Generate(j.ctx, j.opt)
			rows := make([][]int32, len(gens))
			for i, g := range gens {
				rows[i] = g.Tokens
			}
			s.served.Add(1)
			j.done <- result{texts: rows, err: err}
		}
		return
	}
	// The batch stops when every one of its clients is gone.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var alive atomic.Int64
	alive.Store(int64(len(live)))
	for _, j := range live {
		stop := context.AfterFunc(j.ctx, func() {
			if alive.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	cfg := live[0].cfg
	cfg.Batch, cfg.Seeds, cfg.Fixed = 0, nil, nil
	for _, j := range live {
		cfg.Batch += j.cfg.Batch
		cfg.Seeds = append(cfg.Seeds, j.cfg.Seeds...)
		fixed := j.cfg.Fixed
		if fixed == nil {
			fixed = make([]int32, j.cfg.Batch*j.cfg.Length)
			for i := range fixed {
				fixed[i] = -1
			}
		}
		cfg.Fixed = append(cfg.Fixed, fixed...)
	}
	L, step := cfg.Length, 0
	cfg.Trace = func(t float64, z []int32) {
		if step++; step == 1 || step > cfg.Steps+1 { // the start's noise; the final removal comes as the completion
			return
		}
		row := 0
		for _, j := range live {
			if j.events != nil && j.ctx.Err() == nil {
				ev := StepEvent{ID: j.id, Object: "text_completion.step", Step: step - 1, Steps: cfg.Steps, T: t,
					ElapsedMS: float64(time.Since(j.begin).Microseconds()) / 1000}
				for b := range j.cfg.Batch {
					ids := z[(row+b)*L+j.prompt : (row+b+1)*L]
					ev.Choices = append(ev.Choices, Choice{Index: b, Text: m.Tokenizer.Decode(ids)})
				}
				select {
				case j.events <- ev:
				case <-j.ctx.Done():
				}
			}
			row += j.cfg.Batch
		}
	}
	out, err := duo.SampleContext(ctx, m.Net, cfg)
	row := 0
	for _, j := range live {
		s.served.Add(1)
		if err != nil {
			j.done <- result{err: err}
			continue
		}
		j.done <- result{texts: out[row : row+j.cfg.Batch]}
		row += j.cfg.Batch
	}
}
