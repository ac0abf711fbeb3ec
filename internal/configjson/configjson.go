// Package configjson finds, in a JSON config, the duration fields written
// without a unit, and names them by their path in the file: encoding/json
// reports an UnmarshalJSON error without saying where the value is.
package configjson

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// isDuration reports plugin.Duration's shape: any named type whose
// underlying type is int64 and whose name is Duration (this package cannot
// import plugin), or time.Duration.
func isDuration(t reflect.Type) bool {
	return t == reflect.TypeFor[time.Duration]() || (t.Name() == "Duration" && t.Kind() == reflect.Int64)
}

// CheckDurations reads raw along the Go type t it will be decoded into
// and returns an error naming the first duration field whose value is not
// a string with a unit, such as `router.timeout: 5 has no unit: write
// "5s"`. JSON that does not parse, or does not fit t, is left to the
// decoder to report.
func CheckDurations(raw []byte, t reflect.Type) error {
	var tree any
	if json.Unmarshal(raw, &tree) != nil {
		return nil
	}
	return check(t, tree, "")
}

func check(t reflect.Type, v any, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isDuration(t) {
		return checkValue(v, path)
	}
	obj, ok := v.(map[string]any)
	if t.Kind() != reflect.Struct || !ok {
		return nil // not a struct, or a shape the decoder itself will refuse
	}
	fields := map[string]reflect.Type{}
	jsonFields(t, fields)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ft, ok := fields[strings.ToLower(k)]
		if !ok {
			continue
		}
		p := k
		if path != "" {
			p = path + "." + k
		}
		if err := check(ft, obj[k], p); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(v any, path string) error {
	switch x := v.(type) {
	case string:
		if _, err := time.ParseDuration(x); err != nil {
			return fmt.Errorf("%s: %q is not a duration: write a string such as \"5s\" or \"1m30s\"", path, x)
		}
		return nil
	case float64:
		n := strconv.FormatFloat(x, 'f', -1, 64)
		return fmt.Errorf("%s: %s has no unit: write \"%ss\"", path, n, n)
	}
	raw, _ := json.Marshal(v)
	return fmt.Errorf("%s: %s is not a duration: write a string such as \"5s\" or \"1m30s\"", path, raw)
}

// jsonFields adds t's JSON field names (lower case, as encoding/json
// matches them) and types to fields; an outer field hides an embedded
// struct's field of the same name.
func jsonFields(t reflect.Type, fields map[string]reflect.Type) {
	var embeds []reflect.Type
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			embeds = append(embeds, f.Type)
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		fields[strings.ToLower(tag)] = f.Type
	}
	for _, e := range embeds {
		inner := map[string]reflect.Type{}
		jsonFields(e, inner)
		for k, v := range inner {
			if _, hidden := fields[k]; !hidden {
				fields[k] = v
			}
		}
	}
}
