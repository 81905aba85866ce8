/** `sparq embed`: USE-lite embeddings of the texts on the command line, as JSON or a summary. */
import { openUseLite } from '../models/use-lite/file';
import { loadUseLite } from '../models/use-lite/model';
import type { LinearFormat } from '../nn/linear';

/** With `file`, the model saved there (sparq compress <out>, saveUseLite); else the npm package's in `format`. */
export function printEmbeddings(texts: string[], format: LinearFormat, json: boolean, file?: string): void {
  const model = file === undefined ? loadUseLite({ linear: { format } }) : openUseLite(file);
  const y = model.embed(texts);
  const row = (i: number) => y.subarray(i * 512, (i + 1) * 512);
  if (json) {
    console.log(JSON.stringify(texts.map((_, i) => Array.from(row(i)))));
    return;
  }
  console.log(`USE-lite${file ? ` from ${file}` : `, dense layers in ${format}`} (${(model.byteLength / 1e6).toFixed(2)} MB): 512 values per text, unit length`);
  texts.forEach((text, i) => {
    const first = Array.from(row(i).subarray(0, 6), (v) => v.toFixed(4)).join(', ');
    console.log(`  [${i}] ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)}: ${model.tokenizer.encode(text).length} tokens, [${first}, …]`);
  });
  if (texts.length > 1) {
    console.log('  cosine:');
    for (let i = 0; i < texts.length; i++) {
      const cells = texts.map((_, j) => {
        let dot = 0;
        for (let p = 0; p < 512; p++) dot += row(i)[p]! * row(j)[p]!;
        return dot.toFixed(3).padStart(7);
      });
      console.log(`    [${i}] ${cells.join('')}`);
    }
  }
}
