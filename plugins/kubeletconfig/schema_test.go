package kubeletconfig

import (
	"encoding"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	kjson "sigs.k8s.io/json"
)

var update = flag.Bool("update", false, "rewrite schema.txt from k8s.io/kubelet/config/v1beta1")

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// describe writes the JSON kind of every field path of t.
func describe(t reflect.Type, path string, out map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[metav1.Duration]() {
		out[path] = "duration"
		return
	}
	if pt := reflect.PointerTo(t); pt.Implements(unmarshaler) || pt.Implements(textUnmarshaler) {
		out[path] = "scalar"
		return
	}
	switch t.Kind() {
	case reflect.String:
		out[path] = "string"
	case reflect.Bool:
		out[path] = "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		out[path] = "int"
	case reflect.Float32, reflect.Float64:
		out[path] = "float"
	case reflect.Map:
		out[path] = "map"
		describe(t.Elem(), path+".*", out)
	case reflect.Slice, reflect.Array:
		out[path] = "list"
		describe(t.Elem(), path+"[]", out)
	case reflect.Struct:
		if path != "" {
			out[path] = "object"
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
				describe(f.Type, path, out) // inline: same level
				continue
			}
			if name == "" {
				name = f.Name
			}
			describe(f.Type, join(path, name), out)
		}
	default:
		out[path] = "any"
	}
}

func render(m map[string]string) string {
	var lines []string
	for p, k := range m {
		if p != "" {
			lines = append(lines, p+"\t"+k)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// TestSchemaIsCurrent: schema.txt is what the real v1beta1 types say.
func TestSchemaIsCurrent(t *testing.T) {
	m := map[string]string{}
	describe(reflect.TypeFor[kubeletv1beta1.KubeletConfiguration](), "", m)
	want := render(m)
	if *update {
		if err := os.WriteFile("schema.txt", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want != schemaText {
		t.Fatal("schema.txt is stale: go test ./plugins/kubeletconfig -run TestSchemaIsCurrent -update")
	}
}

// TestConfigFieldsAreSchemaFields: the fields this package reads exist in
// v1beta1 with the same JSON kind.
func TestConfigFieldsAreSchemaFields(t *testing.T) {
	m := map[string]string{}
	describe(reflect.TypeFor[Config](), "", m)
	for p, k := range m {
		if schema[p] != k {
			t.Errorf("Config field %q is %q, v1beta1 says %q", p, k, schema[p])
		}
	}
}

// TestSchemaAgreesWithStrictDecoding: on the real configs, the schema walk
// and the v1beta1 types' strict decoding name the same unknown fields.
func TestSchemaAgreesWithStrictDecoding(t *testing.T) {
	for _, f := range []string{"misspelt.yaml", "kubeadm-default.yaml", "eks.json", "config.d/20-misspelt.conf"} {
		b := []byte(readTestdata(t, f))
		doc, strict, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(doc)
		var c kubeletv1beta1.KubeletConfiguration
		errs, err := strictTypes(j, &c)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(errs)
		slices.Sort(strict)
		if !slices.Equal(errs, strict) {
			t.Errorf("%s: schema says %q, v1beta1 types say %q", f, strict, errs)
		}
	}
}

// strictTypes is the kubelet's strict decoding with the real types.
func strictTypes(j []byte, c *kubeletv1beta1.KubeletConfiguration) ([]string, error) {
	errs, err := kjson.UnmarshalStrict(j, c)
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out, err
}
