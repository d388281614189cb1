// Small pieces every page uses: a phase badge, counts per phase, a virtualized list, an
// error line.

import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChild } from "preact";
import { phaseLabel, PHASES, type Phase } from "../phase";

export function PhaseBadge({ phase }: { phase: Phase }) {
  return <span class={`phase phase-${phase}`} data-phase={phase}>{phaseLabel(phase)}</span>;
}

export function PhaseCounts({ counts }: { counts: Map<Phase, number> }) {
  const order: Phase[] = [...PHASES, "UNKNOWN"];
  return (
    <span class="counts">
      {order
        .filter((phase) => (counts.get(phase) ?? 0) > 0)
        .map((phase) => (
          <span key={phase} class={`count phase-${phase}`} data-phase={phase} title={phaseLabel(phase)}>
            {counts.get(phase)} {phaseLabel(phase)}
          </span>
        ))}
    </span>
  );
}

export function Problem({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p class="problem" role="alert">
      {text}
    </p>
  );
}

/**
 * Renders only the rows in view (plus a margin) of a long list of fixed-height rows, so a
 * list of 10,000 costs as much as one of 50.
 */
export function VirtualList<T>({
  items,
  rowHeight,
  height,
  render,
  className,
  stickToBottom,
}: {
  items: T[];
  rowHeight: number;
  height: string;
  render: (item: T, index: number) => ComponentChild;
  className?: string;
  stickToBottom?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);
  const following = useRef(true);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    const element = box.current;
    if (stickToBottom && element && following.current) element.scrollTop = element.scrollHeight;
  }, [items.length, stickToBottom]);
  const margin = 10;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - margin);
  const last = Math.min(items.length, Math.ceil((scrollTop + viewport) / rowHeight) + margin);
  const onScroll = (event: Event) => {
    const element = event.currentTarget as HTMLDivElement;
    following.current = element.scrollTop + element.clientHeight >= element.scrollHeight - rowHeight;
    setScrollTop(element.scrollTop);
  };
  return (
    <div class={`virtual ${className ?? ""}`} ref={box} style={{ maxHeight: height }} onScroll={onScroll}>
      <div style={{ height: `${items.length * rowHeight}px`, position: "relative" }}>
        <div style={{ transform: `translateY(${first * rowHeight}px)` }}>
          {items.slice(first, last).map((item, offset) => render(item, first + offset))}
        </div>
      </div>
    </div>
  );
}

/** The current time, ticking every second while `live`, for durations of running work. */
export function useNow(live: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return now;
}
