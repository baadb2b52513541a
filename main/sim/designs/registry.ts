// The designs, one line each. To add a design: write one file beside this one (data + makeOps,
// using only mmu/, tdx/ and the shared KVM TDX glue; never another design) and add it here.
import type { DesignId } from '../../../shared/scenario.ts';
import type { Design } from './design.ts';
import { perOpDesign } from './per_op.ts';
import { unifiedDesign } from './unified.ts';
import { unifiedSingleHookDesign } from './unified_single_hook.ts';
import { mainline4kDesign } from './mainline_4k.ts';

export const DESIGNS: readonly Design[] = [perOpDesign, unifiedDesign, unifiedSingleHookDesign, mainline4kDesign];

export function designById(id: DesignId): Design {
  const d = DESIGNS.find((x) => x.id === id);
  if (d === undefined) throw new Error(`designById: no design '${id}'`);
  return d;
}
