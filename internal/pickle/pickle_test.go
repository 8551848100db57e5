package pickle

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// pyPickles are pickle.dumps(v, protocol=p) by CPython 3.11 for p = 0..5 of
//
//	a = [1, -2, 300, -70000, 3.5, -0.25, 'hé世\n\\x', b'xy\x00\xff', (1, 2), (), (3,), (4, 5, 6),
//	     (7, 8, 9, 10), None, True, False, 2**40, -2**63, 2**63-1, -129]
//	v = {'a': a, 'b': {1: 'one', (1, 2): 't'}, 'c': {3, 4}, 'd': bytearray(b'q'), 'e': a}
//
// which exercise every opcode family: text opcodes (0), binary ones (1),
// PROTO and LONG1 (2), BINBYTES (3), FRAME, MEMOIZE, STACK_GLOBAL-free
// sets (4) and BYTEARRAY8 (5), plus the memo (v['e'] is v['a']).
var pyPickles = []struct {
	protocol int
	hex      string
}{
	{0, "286470300a56610a70310a286c70320a49310a61492d320a61493330300a61492d37303030300a6146332e350a61462d302e32350a615668e95c75346531365c75303030615c7530303563780a70330a61635f636f646563730a656e636f64650a70340a285678795c7530303030ff0a70350a566c6174696e310a70360a7470370a5270380a612849310a49320a7470390a612874612849330a747031300a612849340a49350a49360a747031310a612849370a49380a49390a4931300a747031320a614e614930310a614930300a614c313039393531313632373737364c0a614c2d393232333337323033363835343737353830384c0a614c393232333337323033363835343737353830374c0a61492d3132390a617356620a7031330a28647031340a49310a566f6e650a7031350a7367390a56740a7031360a737356630a7031370a635f5f6275696c74696e5f5f0a7365740a7031380a28286c7031390a49330a6149340a61747032300a527032310a7356640a7032320a635f5f6275696c74696e5f5f0a6279746561727261790a7032330a2867340a2856710a7032340a67360a747032350a527032360a747032370a527032380a7356650a7032390a67320a732e"},
	{1, "7d71002858010000006171015d7102284b014afeffffff4d2c014a90eefeff47400c00000000000047bfd0000000000000580900000068c3a9e4b8960a5c787103635f636f646563730a656e636f64650a7104285805000000787900c3bf710558060000006c6174696e317106747107527108284b014b0274710929284b0374710a284b044b054b0674710b284b074b084b094b0a74710c4e4930310a4930300a4c313039393531313632373737364c0a4c2d393232333337323033363835343737353830384c0a4c393232333337323033363835343737353830374c0a4a7fffffff65580100000062710d7d710e284b0158030000006f6e65710f68095801000000747110755801000000637111635f5f6275696c74696e5f5f0a7365740a7112285d7113284b034b04657471145271155801000000647116635f5f6275696c74696e5f5f0a6279746561727261790a7117286804285801000000717118680674711952711a74711b52711c580100000065711d6802752e"},
	{2, "80027d71002858010000006171015d7102284b014afeffffff4d2c014a90eefeff47400c00000000000047bfd0000000000000580900000068c3a9e4b8960a5c787103635f636f646563730a656e636f64650a71045805000000787900c3bf710558060000006c6174696e3171068671075271084b014b02867109294b0385710a4b044b054b0687710b284b074b084b094b0a74710c4e88898a060000000000018a0800000000000000808a08ffffffffffffff7f4a7fffffff65580100000062710d7d710e284b0158030000006f6e65710f68095801000000747110755801000000637111635f5f6275696c74696e5f5f0a7365740a71125d7113284b034b04658571145271155801000000647116635f5f6275696c74696e5f5f0a6279746561727261790a711768045801000000717118680686711952711a85711b52711c580100000065711d6802752e"},
	{3, "80037d71002858010000006171015d7102284b014afeffffff4d2c014a90eefeff47400c00000000000047bfd0000000000000580900000068c3a9e4b8960a5c7871034304787900ff71044b014b02867105294b038571064b044b054b06877107284b074b084b094b0a7471084e88898a060000000000018a0800000000000000808a08ffffffffffffff7f4a7fffffff6558010000006271097d710a284b0158030000006f6e65710b6805580100000074710c75580100000063710d636275696c74696e730a7365740a710e5d710f284b034b04658571105271115801000000647112636275696c74696e730a6279746561727261790a7113430171711485711552711658010000006571176802752e"},
	{4, "800495d0000000000000007d94288c0161945d94284b014afeffffff4d2c014a90eefeff47400c00000000000047bfd00000000000008c0968c3a9e4b8960a5c78944304787900ff944b014b028694294b0385944b044b054b068794284b074b084b094b0a74944e88898a060000000000018a0800000000000000808a08ffffffffffffff7f4a7fffffff658c0162947d94284b018c036f6e659468058c017494758c0163948f94284b034b04908c0164948c086275696c74696e73948c0962797465617272617994939443017194859452948c0165946802752e"},
	{5, "800595ba000000000000007d94288c0161945d94284b014afeffffff4d2c014a90eefeff47400c00000000000047bfd00000000000008c0968c3a9e4b8960a5c78944304787900ff944b014b028694294b0385944b044b054b068794284b074b084b094b0a74944e88898a060000000000018a0800000000000000808a08ffffffffffffff7f4a7fffffff658c0162947d94284b018c036f6e659468058c017494758c0163948f94284b034b04908c01649496010000000000000071948c0165946802752e"},
}

// pyWant is repr(v) in the notation of repr below (sets print as lists).
const pyWant = `{'a': [1, -2, 300, -70000, 3.5, -0.25, 'hé世\n\\x', b'xy\x00\xff', (1, 2), (), (3,), (4, 5, 6), (7, 8, 9, 10), None, True, False, 1099511627776, -9223372036854775808, 9223372036854775807, -129], 'b': {1: 'one', (1, 2): 't'}, 'c': [3, 4], 'd': b'q', 'e': [1, -2, 300, -70000, 3.5, -0.25, 'hé世\n\\x', b'xy\x00\xff', (1, 2), (), (3,), (4, 5, 6), (7, 8, 9, 10), None, True, False, 1099511627776, -9223372036854775808, 9223372036854775807, -129]}`

// repr renders a decoded value like Python's repr (cut off at depth 20, as
// a pickle can build a list that contains itself).
func repr(v any) string { return reprDepth(v, 0) }

func reprDepth(v any, depth int) string {
	if depth > 20 {
		return "..."
	}
	repr := func(v any) string { return reprDepth(v, depth+1) }
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case string:
		r := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "'", "\\'")
		return "'" + r.Replace(t) + "'"
	case []byte:
		var sb strings.Builder
		sb.WriteString("b'")
		for _, c := range t {
			if c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' {
				sb.WriteByte(c)
			} else {
				fmt.Fprintf(&sb, "\\x%02x", c)
			}
		}
		return sb.String() + "'"
	case Tuple:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = repr(x)
		}
		if len(t) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case *List:
		parts := make([]string, len(t.Items))
		for i, x := range t.Items {
			parts[i] = repr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Dict:
		parts := make([]string, len(t.Keys))
		for i, k := range t.Keys {
			parts[i] = repr(k) + ": " + repr(t.Values[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case Global:
		return "<global " + t.String() + ">"
	case *Object:
		return "<" + t.Class() + " " + repr(t.Args) + " state=" + repr(t.State) + ">"
	}
	return fmt.Sprintf("<%T>", v)
}

func TestPythonPickles(t *testing.T) {
	for _, c := range pyPickles {
		data, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Decode(data)
		if err != nil {
			t.Errorf("protocol %d: %v", c.protocol, err)
			continue
		}
		if got := repr(v); got != pyWant {
			t.Errorf("protocol %d:\n got %s\nwant %s", c.protocol, got, pyWant)
		}
		d := v.(*Dict)
		a, _ := d.Get("a")
		e, _ := d.Get("e")
		if a.(*List) != e.(*List) {
			t.Errorf("protocol %d: the memo did not share v['a'] and v['e']", c.protocol)
		}
	}
}

// Hand-assembled pickles for what CPython's own pickles above do not show.
func TestOpcodes(t *testing.T) {
	p := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"inert reduce", p("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."), "<os.system ('ls',) state=None>"},
		{"inert newobj and build", p("\x80\x02cm\nC\n)\x81}X\x01\x00\x00\x00kK\x05sb."), "<m.C () state={'k': 5}>"},
		{"stack global", p("\x80\x04\x8c\x01m\x94\x8c\x01f\x94\x93)R."), "<m.f () state=None>"},
		{"build on a dict", p("\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00mK\x01sb."), "<collections.OrderedDict () state={'m': 1}>"},
		{"dup and pop", p("K\x012K\x020\x86."), "(1, 1)"},
		{"pop mark", p("K\x07(K\x01K\x021."), "7"},
		{"long1 negative", p("\x8a\x01\xff."), "-1"},
		{"long1 sign extension", p("\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff."), "-1"},
		{"long4", p("\x8b\x02\x00\x00\x00\x00\x80."), "-32768"},
		{"empty long1", p("\x8a\x00."), "0"},
		{"binfloat", p("G\x3f\xf8\x00\x00\x00\x00\x00\x00."), "1.5"},
		{"setitem", p("}X\x01\x00\x00\x00aK\x01sX\x01\x00\x00\x00aK\x02s."), "{'a': 2}"},
		{"binstring", p("U\x02hi."), "'hi'"},
		{"string", p("S'it\\'s'\n."), "'it\\'s'"},
		{"frozenset", p("\x80\x04(K\x01\x91."), "[1]"},
		{"inst", p("(K\x01im\nC\n."), "<m.C (1,) state=None>"},
		{"obj", p("(cm\nC\nK\x02o."), "<m.C (2,) state=None>"},
		{"set items on an object", p("cm\nD\n)\x81(K\x01K\x02u."), "<m.D () state=None>"},
		{"appends on an object", p("cm\nL\n)\x81(K\x01e."), "<m.L () state=None>"},
	}
	for _, c := range cases {
		v, err := Decode(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := repr(v); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestHooks(t *testing.T) {
	// ('storage', 7) as a persistent id, then f(pid) through the Call hook.
	data := []byte("\x80\x02cm\nf\nX\x07\x00\x00\x00storageK\x07\x86Q\x85R.")
	var calls []string
	d := &Decoder{
		Persistent: func(pid any) (any, error) { return "pid" + repr(pid), nil },
		Call: func(fn Global, args Tuple) (any, bool, error) {
			calls = append(calls, fn.String())
			return fmt.Sprintf("called (%q,)", args[0]), true, nil
		},
	}
	v, err := d.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := `called ("pid('storage', 7)",)`; v != want {
		t.Errorf("got %v, want %s", v, want)
	}
	if len(calls) != 1 || calls[0] != "m.f" {
		t.Errorf("calls %v", calls)
	}
	// Without a persistent loader the pickle is refused.
	if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "persistent id") {
		t.Errorf("no loader: %v", err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "no STOP"},
		{"no stop", "K\x01", "no STOP"},
		{"stop on empty stack", ".", "stack underflow"},
		{"truncated length", "X\xff\xff\x00\x00ab.", "runs past the end"},
		{"huge bytes8", "\x8e\xff\xff\xff\xff\xff\xff\xff\xffab.", "runs past the end"},
		{"unknown opcode", "\xff.", "unsupported opcode"},
		{"protocol 6", "\x80\x06N.", "unsupported protocol"},
		{"memo miss", "h\x05.", "never stored"},
		{"append to int", "K\x01K\x02a.", "cannot append"},
		{"setitem on list", "]K\x01K\x02s.", "cannot set items"},
		{"odd dict", "(K\x01d.", "odd number"},
		{"no mark", "K\x01t.", "no MARK"},
		{"mark as value", "(.", "MARK"},
		{"reduce non-tuple", "cm\nf\nK\x01R.", "not a tuple"},
		{"trailing bytes", "N.N", "after STOP"},
		{"long too big", "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", "64 bits"},
		{"stack global non-string", "K\x01K\x02\x93.", "must be strings"},
		{"bad int text", "Ix\n.", "integer"},
		{"ext1", "\x82\x01.", "unsupported opcode"},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic or hang.
func FuzzDecode(f *testing.F) {
	for _, c := range pyPickles {
		data, _ := hex.DecodeString(c.hex)
		f.Add(data)
	}
	f.Add([]byte("\x80\x02cm\nf\nX\x07\x00\x00\x00storageK\x07\x86Q\x85R."))
	f.Add([]byte("]q\x00h\x00a.")) // a list that contains itself
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &Decoder{Persistent: func(pid any) (any, error) { return pid, nil }}
		if v, err := d.Decode(data); err == nil {
			repr(v) // walk it
		}
	})
}
