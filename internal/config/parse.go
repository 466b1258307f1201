package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Parse reads a YAML configuration on top of [Default]: keys the file omits,
// and keys given no value (such as "database:" alone), keep their defaults,
// and an empty file or one with only comments yields Default() itself.
//
// name is the file name used in messages. Every unknown key, duplicate key
// and value of the wrong type is reported with its line and full dotted key,
// such as `config.yaml:3: unknown key "telegram.tokn"`; several problems are
// joined with [errors.Join]. Invalid YAML is reported as
// "config.yaml:LINE: invalid YAML: ...". On error Parse returns a zero Config.
// Parse does not check values: call [Config.Validate] for that.
func Parse(data []byte, name string) (Config, error) {
	if name == "" {
		name = "config"
	}
	cfg := Default()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil // empty, or only comments
		}
		return Config{}, syntaxError(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Config{}, syntaxError(name, data, err)
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		return Config{}, fmt.Errorf("%s:%d: found a second YAML document (want a single document)", name, extra.Line)
	}

	w := walker{name: name}
	if len(doc.Content) > 0 {
		root := deref(doc.Content[0])
		switch {
		case isNull(root):
		case root.Kind != yaml.MappingNode:
			w.errorf(root.Line, "want a mapping of settings such as \"database: lessonbot.db\", got %s", describe(root))
		default:
			w.mapping(root, reflect.ValueOf(&cfg).Elem(), "")
		}
	}
	if len(w.errs) > 0 {
		secrets := cfg.secrets()
		errs := make([]error, len(w.errs))
		for i, msg := range w.errs {
			errs[i] = errors.New(scrub(msg, secrets))
		}
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// walker decodes a yaml.Node tree into a value, following the value's yaml
// struct tags by reflection and collecting one message per problem.
type walker struct {
	name string
	errs []string
}

// errorf records a problem found at line.
func (w *walker) errorf(line int, format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf("%s:%d: ", w.name, line)+fmt.Sprintf(format, args...))
}

// mismatch records a value of the wrong type for key.
func (w *walker) mismatch(n *yaml.Node, t reflect.Type, key string) {
	w.errorf(n.Line, "%s: want %s, got %s", key, want(t), describe(n))
}

// value decodes n into the settable v. A null node keeps v's current value.
func (w *walker) value(n *yaml.Node, v reflect.Value, key string) {
	n = deref(n)
	if isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case hasOwnDecoder(t):
		w.leaf(n, v, key)
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		w.value(n, p.Elem(), key)
		v.Set(p)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.mismatch(n, t, key)
			return
		}
		w.mapping(n, v, key)
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.mismatch(n, t, key)
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := deref(n.Content[i])
			k := reflect.New(t.Key()).Elem()
			w.leaf(kn, k, join(key, kn.Value))
			e := reflect.New(t.Elem()).Elem()
			w.value(n.Content[i+1], e, join(key, kn.Value))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		if n.Kind != yaml.SequenceNode {
			w.mismatch(n, t, key)
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			w.value(e, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	default:
		w.leaf(n, v, key)
	}
}

// leaf decodes a single value with yaml itself, after the checks that yaml
// does not make.
func (w *walker) leaf(n *yaml.Node, v reflect.Value, key string) {
	t := v.Type()
	if !hasOwnDecoder(t) {
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			// yaml would silently truncate 2.5 to 2.
			if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!float" {
				w.mismatch(n, t, key)
				return
			}
		case reflect.Bool, reflect.Float32, reflect.Float64, reflect.String:
			if n.Kind != yaml.ScalarNode {
				w.mismatch(n, t, key)
				return
			}
		}
	}
	p := reflect.New(t)
	if err := n.Decode(p.Interface()); err != nil {
		w.mismatch(n, t, key)
		return
	}
	v.Set(p.Elem())
}

// mapping decodes the mapping node n into the struct v, reporting unknown
// and duplicate keys.
func (w *walker) mapping(n *yaml.Node, v reflect.Value, key string) {
	fields := fieldsOf(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := deref(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			w.errorf(kn.Line, "%s: want a plain key name, got %s", orTop(key), describe(kn))
			continue
		}
		if kn.ShortTag() == "!!merge" {
			w.errorf(kn.Line, "%s: merge keys (<<) are not supported", orTop(key))
			continue
		}
		full := join(key, kn.Value)
		index, ok := fields.index[kn.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", full)
			if s := suggest(kn.Value, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", join(key, s))
			}
			w.errorf(kn.Line, "%s", msg)
			continue
		}
		if first, dup := seen[kn.Value]; dup {
			w.errorf(kn.Line, "duplicate key %q (first set on line %d)", full, first)
			continue
		}
		seen[kn.Value] = kn.Line
		w.value(vn, v.FieldByIndex(index), full)
	}
}

// fieldSet maps the yaml keys of a struct type to its field indexes.
type fieldSet struct {
	index map[string][]int
	names []string
}

// fieldsOf lists the keys of struct type t the way yaml.v3 names them: the
// yaml tag's name, or else the lower-cased field name; "-" skips a field and
// ",inline" merges a struct field's keys into its parent's.
func fieldsOf(t reflect.Type) fieldSet {
	fs := fieldSet{index: make(map[string][]int)}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if f.Type.Kind() == reflect.Struct && hasOption(opts, "inline") {
				walk(f.Type, index)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if _, dup := fs.index[name]; !dup {
				fs.names = append(fs.names, name)
			}
			fs.index[name] = index
		}
	}
	walk(t, nil)
	return fs
}

// hasOption reports whether the comma-separated tag options contain opt.
func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// hasOwnDecoder reports whether values of type t decode themselves, so the
// walker must hand them to yaml whole.
func hasOwnDecoder(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(yamlUnmarshaler) || p.Implements(textUnmarshaler)
}

// want describes, for messages, what a value of type t looks like.
func want(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 90s"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a mapping of keys to values"
	case reflect.Pointer:
		return want(t.Elem())
	case reflect.Struct:
		if !hasOwnDecoder(t) {
			return "a mapping with the keys " + strings.Join(fieldsOf(t).names, ", ")
		}
	}
	return "a value of type " + t.String()
}

// maxShown is the length of the longest value quoted in a message. Longer
// values are not shown, so that a bot token (Telegram's are about 46
// characters, Discord's about 70) pasted in the wrong place never appears in
// an error.
const maxShown = 32

// describe says, for messages, what was found at node n.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if utf8.RuneCountInString(n.Value) > maxShown {
			return "a long value"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an explicit or implicit null.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// join builds a dotted key.
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// orTop names a mapping's key in messages, or the top level.
func orTop(key string) string {
	if key == "" {
		return "top level"
	}
	return key
}

// suggest returns the known name closest to an unknown one, or "" if none
// is close enough to be a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := distance(strings.ToLower(name), k); d < bestDist && d < len(k) {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parserProblems are the problems that yaml.v3 reports with a zero-based
// line number (its scanner's problems are reported one-based).
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError turns a yaml.v3 parse error into "name:LINE: invalid YAML: ...".
// yaml.v3 has no structured syntax error, so the line is read from its text.
func syntaxError(name string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1 // yaml.v3 leaves out the line when the problem is on the first
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
				for _, p := range parserProblems {
					if strings.HasPrefix(msg, p) {
						line++
						break
					}
				}
			}
		}
	} else if anchor, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		anchor, _, _ = strings.Cut(anchor, "'")
		line = aliasLine(data, anchor)
	}
	return fmt.Errorf("%s:%d: invalid YAML: %s", name, line, msg)
}

// aliasLine returns the line of the first "*anchor" in data, or 1.
func aliasLine(data []byte, anchor string) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(l, []byte("*"+anchor)) {
			return i + 1
		}
	}
	return 1
}
