package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// configError says what is wrong with a config section in the words of
// the file: the field's JSON path and what it should hold, not Go's type
// and struct names.
func configError(v any, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	got, _, _ := strings.Cut(te.Value, " ") // "number 1.5" → "number"
	return fmt.Errorf("%s: want %s, got a %s", jsonPath(reflect.TypeOf(v), te.Field), kindName(te.Type), got)
}

// jsonPath drops from a json.UnmarshalTypeError's field path the names of
// embedded structs, which the file does not write.
func jsonPath(t reflect.Type, field string) string {
	var out []string
	for _, seg := range strings.Split(field, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous {
				t = f.Type
				continue
			}
			var next reflect.Type
			for f := range t.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" {
					name = f.Name
				}
				if strings.EqualFold(name, seg) {
					next = f.Type
					break
				}
			}
			t = next
		} else {
			t = nil
		}
		out = append(out, seg)
	}
	return strings.Join(out, ".")
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}
