"use client";

import { useEffect, useId, useState } from "react";

import { DEFAULT_FILTERS, SORTS, type Filters, type Sort, type Status } from "@/lib/filters";
import { PRIORITIES, type Priority } from "@/lib/task-form";

/** Typing in the search or tag box waits this long for a pause before asking the API. */
const TYPING_PAUSE_MS = 300;

export function TaskFilters({
  filters,
  onChange,
}: {
  filters: Filters;
  onChange: (filters: Filters) => void;
}) {
  const id = useId();
  const [search, setSearch] = useState(filters.search);
  const [tags, setTags] = useState(filters.tags);

  useEffect(() => {
    if (search === filters.search && tags === filters.tags) return;
    const timer = window.setTimeout(() => onChange({ ...filters, search, tags }), TYPING_PAUSE_MS);
    return () => window.clearTimeout(timer);
  }, [search, tags, filters, onChange]);

  const set = (change: Partial<Filters>) => onChange({ ...filters, search, tags, ...change });
  const togglePriority = (priority: Priority, on: boolean) =>
    set({
      priorities: on
        ? PRIORITIES.filter((p) => p === priority || filters.priorities.includes(p))
        : filters.priorities.filter((p) => p !== priority),
    });

  return (
    <section role="search" className="filters" aria-label="Find tasks">
      <div className="field grow">
        <label htmlFor={`${id}-q`}>Search</label>
        <input
          id={`${id}-q`}
          type="search"
          value={search}
          maxLength={200}
          placeholder="Words in the title or description"
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-status`}>Show</label>
        <select
          id={`${id}-status`}
          value={filters.status}
          onChange={(event) => set({ status: event.target.value as Status })}
        >
          <option value="all">All tasks</option>
          <option value="pending">To do</option>
          <option value="completed">Done</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-sort`}>Sort</label>
        <select
          id={`${id}-sort`}
          value={filters.sort}
          onChange={(event) => set({ sort: event.target.value as Sort })}
        >
          {SORTS.map((sort) => (
            <option key={sort.value} value={sort.value}>
              {sort.label}
            </option>
          ))}
        </select>
      </div>
      <details className="more-filters">
        <summary>More filters</summary>
        <fieldset>
          <legend>Priority</legend>
          {PRIORITIES.map((priority) => (
            <label key={priority} className="check">
              <input
                type="checkbox"
                checked={filters.priorities.includes(priority)}
                onChange={(event) => togglePriority(priority, event.target.checked)}
              />
              {priority}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-tags`}>Tags (all of)</label>
          <input
            id={`${id}-tags`}
            value={tags}
            placeholder="home, errand"
            onChange={(event) => setTags(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-after`}>Due from</label>
          <input
            id={`${id}-after`}
            type="date"
            value={filters.dueAfter}
            onChange={(event) => set({ dueAfter: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-before`}>Due until</label>
          <input
            id={`${id}-before`}
            type="date"
            value={filters.dueBefore}
            onChange={(event) => set({ dueBefore: event.target.value })}
          />
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={filters.overdueOnly}
            onChange={(event) => set({ overdueOnly: event.target.checked })}
          />
          Overdue only
        </label>
        <button
          type="button"
          onClick={() => {
            setSearch("");
            setTags("");
            onChange(DEFAULT_FILTERS);
          }}
        >
          Clear filters
        </button>
      </details>
    </section>
  );
}
