package torchckpt

import (
	"strings"

	"github.com/duo-go/duo/internal/pickle"
)

// Plain converts a decoded value into plain Go values for inspection:
// dicts with string keys become map[string]any (other keys are dropped),
// tuples and lists []any, and the inert objects that OmegaConf
// configurations (DictConfig, ListConfig and their value nodes, as Hydra
// and Lightning save hyper-parameters) pickle into become the maps, lists
// and scalars they hold. Anything else is returned unchanged. Nesting
// deeper than 64 levels (or a cycle) is cut off with nil.
func Plain(v any) any { return plain(v, 0) }

func plain(v any, depth int) any {
	if depth > 64 {
		return nil
	}
	switch t := v.(type) {
	case *pickle.Dict:
		m := make(map[string]any, t.Len())
		for i, k := range t.Keys {
			if s, ok := k.(string); ok {
				m[s] = plain(t.Values[i], depth+1)
			}
		}
		return m
	case pickle.Tuple:
		return plainList(t, depth)
	case *pickle.List:
		return plainList(t.Items, depth)
	case *pickle.Object:
		g, ok := t.Callable.(pickle.Global)
		if !ok || !strings.HasPrefix(g.Module, "omegaconf.") {
			return v
		}
		st, ok := t.State.(*pickle.Dict)
		if !ok {
			return v
		}
		key := "_val" // value nodes (AnyNode, IntegerNode, ...)
		if g.Name == "DictConfig" || g.Name == "ListConfig" {
			key = "_content"
		}
		if c, ok := st.Get(key); ok {
			return plain(c, depth+1)
		}
		return v
	}
	return v
}

func plainList(items []any, depth int) []any {
	out := make([]any, len(items))
	for i, x := range items {
		out[i] = plain(x, depth+1)
	}
	return out
}

// Lookup follows a dotted path of string keys ("config.model.length")
// through maps produced by Plain.
func Lookup(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
