use std::io::Write;
use std::path::Path;
fn main() {
    let m = ohwb_bot::embed::Embedder::shared(Path::new("models/all-MiniLM-L6-v2")).unwrap();
    let train = ohwb_bot::safety::examples::builtin();
    let eval = ohwb_bot::eval::distress::load(Path::new("tests/eval/distress.toml")).unwrap();
    let mut f = std::fs::File::create("/tmp/vecs.jsonl").unwrap();
    for (set, list) in [("train", &train), ("eval", &eval)] {
        for e in list.iter() {
            let pieces = ohwb_bot::safety::pieces(&e.text);
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let v = m.embed_batch(&refs).unwrap();
            let line = serde_json::json!({"set": set, "split": e.split, "kind": e.kind, "distress": e.distress, "text": e.text, "vecs": v});
            writeln!(f, "{}", line).unwrap();
        }
    }
}
